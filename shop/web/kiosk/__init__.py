"""The showroom kiosk (展厅触摸屏): a 1920×1080 touch screen at the service centre, authenticated as a device."""
