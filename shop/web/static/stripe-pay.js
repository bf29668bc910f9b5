// Stripe.js collects the card / Alipay / WeChat Pay details and confirms the PaymentIntent; the webhook marks the
// order paid, so the order page is the truth whatever the browser does after this.
(function () {
  "use strict";
  window.addEventListener("load", function () {
    var form = document.getElementById("pay-form"), box = document.getElementById("page-error");
    if (!form) return;
    if (!window.Stripe || !form.dataset.key || !form.dataset.secret) {
      box.textContent = form.dataset.unavailable; box.hidden = false; return;
    }
    var stripe = window.Stripe(form.dataset.key);
    var elements = stripe.elements({clientSecret: form.dataset.secret, locale: document.documentElement.lang});
    elements.create("payment").mount("#payment-element");
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      stripe.confirmPayment({elements: elements, confirmParams: {return_url: form.dataset.return}}).then(function (result) {
        if (result.error) { box.textContent = result.error.message; box.hidden = false; }
      });
    });
  });
})();
