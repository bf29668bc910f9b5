"""The relevance set: what a buyer types over the demo catalogue (``catalog/seed``) and what they must see.

Each case names the products (by title) that must be in the top 3. ``every`` adds that each of the top 3 has a
given field value (``("brand_name", "山耕")``: a brand query shows only that brand first), ``first`` that a
product comes first (sorts), ``absent`` that a product is not found at all (typo budget: 1 typo from 5 letters,
2 from 9). Filters name brands and counties; the test resolves them to ids.

Expectations are what a buyer expects, not what some engine happened to return.
"""

from __future__ import annotations

from dataclasses import dataclass

# Titles of the demo products used below.
GUFA_HONGTANG = "知味红 古法手工红糖"
JIANG_HONGTANG = "知味红 老姜红糖块"
HONGTANG_LIHE = "“红糖出海”侨乡礼盒"
YANGMEI = "青田杨梅（东魁）鲜果预订"
HUIMINGCHA = "金奖惠明茶 明前特级"
BAICHA = "景宁白叶一号 感恩茶"
HONGCHA = "畲家手工红茶"
HUAGU = "庆元花菇 特级"
DUANMU_XIANGGU = "庆元椴木香菇"
HEIMUER = "庆元高山黑木耳"
SUNGAN = "庆元高山清水笋干"
YINHOU = "松阳银猴 明前特级"
XIANGCHA = "松阳香茶 一级"
DUANWUCHA = "松阳端午茶"
CHENJIAPU = "陈家铺 悬崖民宿 云端观景房一晚"
DAJUN_MINSU = "大均畲家民宿 江景房一晚"
TITIAN_MINSU = "梯田石寨民宿一晚"
ZUOWANGGU_MINSU = "坐忘谷 山谷民宿 一晚（含双早）"
MANSHIGUANG = "温泉湖“慢时光”湖景民宿一晚"
FENGMI_BAIHUA = "高山土蜂蜜（百花蜜）"
FENGMI_DONG = "古堰画乡 土蜂蜜（冬蜜）"
TUJIDAN = "高山土鸡蛋 30枚"
QINGCI = ("龙泉青瓷 梅子青品茗杯", "龙泉青瓷 粉青盖碗", "龙泉青瓷 旅行茶具（一壶两杯）")
SHAOBING = "缙云烧饼（速冻）"
MEIGANCAI = "缙云梅干菜"
CHAYOU = "丽水山茶油 冷榨一级"
LIANZI = "处州白莲（去芯干莲子）"
JUMI = "遂昌菊米"
TITIAN_MI = "云和梯田米"
DAOYU_MI = "龙现村稻鱼共生大米"
XUELI = "云和雪梨"
PINTU = "云和木制 丽水山水拼图"
CAOMEI = "路桥大棚红颜草莓"
PIPA = "桐屿白玉枇杷 鲜果预订"
SHIBINGTONG = "二嫂手工食饼筒（冷冻）"
QINGTUAN = "手工艾草青团"
MAIXIA = "台州手工麦虾（半成品）"
FANSHUGAN = "嵊州崇仁番薯干（红薯干）"
HONGSHU = "崇仁新鲜红薯（板栗薯）"
FENSI = "手工番薯粉丝"
XIAOLONGBAO = "嵊州小笼包（鲜肉，速冻）"
XIAOLONGBAO_KE = "跟沈书记学包小笼包 体验课"
HUDIELAN = "长安镇蝴蝶兰（双杆）"


@dataclass(frozen=True)
class Case:
    q: str
    top3: tuple[str, ...] = ()
    kind: str = "chinese"
    every: tuple[str, object] | None = None  # (hit field, value): each of the top 3 has it (lists: contain it)
    first: str | None = None
    absent: tuple[str, ...] = ()
    family: str | None = None  # brand family name
    county: str | None = None  # county name
    in_stock: bool | None = None
    price_band: tuple[str, ...] = ()
    stars_min: int | None = None
    sort: str = "relevance"

    def label(self) -> str:
        extras = [f"{k}={v}" for k, v in (("family", self.family), ("county", self.county),
                  ("in_stock", self.in_stock), ("stars_min", self.stars_min)) if v is not None]  # fmt: skip
        if self.price_band:
            extras.append(f"price_band={','.join(self.price_band)}")
        if self.sort != "relevance":
            extras.append(f"sort={self.sort}")
        return f"[{self.kind}] {self.q!r}" + (f" ({'; '.join(extras)})" if extras else "")


def _c(q: str, *top3: str, **kw: object) -> Case:
    return Case(q, tuple(top3), **kw)  # type: ignore[arg-type]


SUGAR = ("tags", "红糖")
MUSHROOM = ("tags", "香菇")
SWEET_POTATO = ("tags", "番薯")
HOMESTAY = ("tags", "民宿")
TEA = ("tags", "茶叶")

CASES: tuple[Case, ...] = (
    # ---- Chinese words
    _c("红糖", GUFA_HONGTANG, every=SUGAR),
    _c("古法红糖", GUFA_HONGTANG, first=GUFA_HONGTANG),
    _c("香菇", DUANMU_XIANGGU, every=MUSHROOM),
    _c("惠明茶", HUIMINGCHA),
    _c("黑木耳", HEIMUER),
    _c("杨梅", YANGMEI),
    _c("土蜂蜜", FENGMI_BAIHUA, FENGMI_DONG),
    _c("龙泉青瓷", *QINGCI),
    _c("缙云烧饼", SHAOBING),
    _c("小笼包", XIAOLONGBAO, XIAOLONGBAO_KE),
    _c("笋干", SUNGAN),
    _c("枇杷", PIPA),
    _c("白茶", BAICHA),
    _c("红茶", HONGCHA),
    _c("茶叶", HUIMINGCHA, every=TEA),
    _c("民宿", every=HOMESTAY),
    _c("山茶油", CHAYOU),
    _c("菊米", JUMI),
    _c("青团", QINGTUAN),
    _c("莲子", LIANZI),
    _c("梅干菜", MEIGANCAI),
    _c("蝴蝶兰", HUDIELAN),
    _c("红糖 的", GUFA_HONGTANG, every=SUGAR),  # a stop character changes nothing
    # ---- full pinyin
    _c("hongtang", GUFA_HONGTANG, kind="pinyin", every=SUGAR),
    _c("hong tang", GUFA_HONGTANG, kind="pinyin", every=SUGAR),
    _c("xianggu", DUANMU_XIANGGU, kind="pinyin", every=MUSHROOM),
    _c("huimingcha", HUIMINGCHA, kind="pinyin"),
    _c("heimuer", HEIMUER, kind="pinyin"),
    _c("yangmei", YANGMEI, kind="pinyin"),
    _c("xiaolongbao", XIAOLONGBAO, XIAOLONGBAO_KE, kind="pinyin"),
    _c("longquanqingci", *QINGCI, kind="pinyin"),
    _c("fengmi", FENGMI_BAIHUA, FENGMI_DONG, kind="pinyin"),
    _c("minsu", kind="pinyin", every=HOMESTAY),
    _c("pipa", PIPA, kind="pinyin"),
    _c("caomei", CAOMEI, kind="pinyin"),
    _c("jinyunshaobing", SHAOBING, kind="pinyin"),
    _c("shanchayou", CHAYOU, kind="pinyin"),
    _c("sungan", SUNGAN, kind="pinyin"),
    _c("HongTang", GUFA_HONGTANG, kind="pinyin", every=SUGAR),  # capitals typed on a phone keyboard
    # ---- initials
    _c("ht", GUFA_HONGTANG, kind="initials", every=SUGAR),
    _c("xg", DUANMU_XIANGGU, kind="initials", every=MUSHROOM),
    _c("hmc", HUIMINGCHA, kind="initials"),
    _c("hme", HEIMUER, kind="initials"),
    _c("tfm", FENGMI_BAIHUA, FENGMI_DONG, kind="initials"),
    _c("lqqc", *QINGCI, kind="initials"),
    _c("xlb", XIAOLONGBAO, XIAOLONGBAO_KE, kind="initials"),
    _c("jysb", SHAOBING, kind="initials"),
    _c("zwh", GUFA_HONGTANG, kind="initials", every=("workshop_name", "知味红·红糖工坊")),
    # ---- typos in pinyin: 1 typo from 5 letters, 2 from 9
    _c("hontang", GUFA_HONGTANG, kind="typo", every=SUGAR),  # 7 letters, a letter missing
    _c("honngtang", GUFA_HONGTANG, kind="typo", every=SUGAR),  # 9, one too many
    _c("hongtnag", GUFA_HONGTANG, kind="typo", every=SUGAR),  # 8, two swapped
    _c("xiangu", DUANMU_XIANGGU, kind="typo"),  # 6, a letter missing
    _c("xainggu", DUANMU_XIANGGU, kind="typo", every=MUSHROOM),  # 7, swapped
    _c("huimincha", HUIMINGCHA, kind="typo"),  # 9, missing
    _c("hiumingca", HUIMINGCHA, kind="typo"),  # 9, swapped + missing: two typos
    _c("heimuerr", HEIMUER, kind="typo"),  # 8, one too many
    _c("yangmie", YANGMEI, kind="typo"),  # 7, swapped
    _c("yanmei", YANGMEI, kind="typo"),  # 6, missing
    _c("xiaolongbo", XIAOLONGBAO, kind="typo"),  # 10, missing
    _c("qingtain", GUFA_HONGTANG, kind="typo", every=("county_name", "青田县")),  # 8, swapped
    _c("shangegn", kind="typo", every=("brand_name", "山耕")),  # 8, swapped
    _c("hogtng", kind="typo", absent=(GUFA_HONGTANG, JIANG_HONGTANG)),  # 6 letters, 2 typos: over budget
    _c("hontan", kind="typo", absent=(GUFA_HONGTANG,)),  # 6 letters, 2 typos from hongtang: over budget
    # ---- traditional characters
    _c("紅糖", GUFA_HONGTANG, kind="traditional", every=SUGAR),
    _c("楊梅", YANGMEI, kind="traditional"),
    _c("茶葉", HUIMINGCHA, kind="traditional", every=TEA),
    _c("龍泉青瓷", *QINGCI, kind="traditional"),
    _c("燒餅", SHAOBING, kind="traditional"),
    _c("紅薯乾", FANSHUGAN, kind="traditional"),
    _c("小籠包", XIAOLONGBAO, kind="traditional"),
    _c("筍乾", SUNGAN, kind="traditional"),
    _c("香菇", DUANMU_XIANGGU, kind="traditional", every=MUSHROOM),  # the same in both scripts
    _c("麗水山耕", kind="traditional", every=("brand_name", "山耕")),
    # ---- synonyms (番薯 = 红薯 = 地瓜 …)
    _c("番薯", FANSHUGAN, kind="synonym", every=SWEET_POTATO),
    _c("红薯", HONGSHU, kind="synonym", every=SWEET_POTATO),
    _c("地瓜", FANSHUGAN, kind="synonym", every=SWEET_POTATO),
    _c("甘薯", FANSHUGAN, kind="synonym", every=SWEET_POTATO),
    _c("山芋", kind="synonym", every=SWEET_POTATO),
    _c("digua", kind="synonym", every=SWEET_POTATO),
    _c("fanshu", kind="synonym", every=SWEET_POTATO),
    _c("地瓜干", FANSHUGAN, kind="synonym", first=FANSHUGAN),
    _c("黑糖", GUFA_HONGTANG, kind="synonym", every=SUGAR),
    _c("冬菇", HUAGU, kind="synonym", every=MUSHROOM),
    _c("粉条", FENSI, kind="synonym"),
    _c("草鸡蛋", TUJIDAN, kind="synonym"),
    _c("蜜糖", FENGMI_BAIHUA, FENGMI_DONG, kind="synonym"),
    _c("客栈", kind="synonym", every=HOMESTAY),
    _c("稻米", DAOYU_MI, TITIAN_MI, kind="synonym"),
    # ---- brands and their pinyin
    _c("山耕", kind="brand", every=("brand_name", "山耕")),
    _c("shangeng", kind="brand", every=("brand_name", "山耕")),
    _c("丽水山耕", kind="brand", every=("brand_name", "山耕")),
    _c("lishuishangeng", kind="brand", every=("brand_name", "山耕")),
    _c("lssg", kind="brand", every=("brand_name", "山耕")),
    _c("丽水山坊", kind="brand", every=("family_name", "丽水山坊")),
    _c("lishuishanfang", kind="brand", every=("family_name", "丽水山坊")),
    _c("lssf", kind="brand", every=("family_name", "丽水山坊")),
    _c("山居", CHENJIAPU, DAJUN_MINSU, TITIAN_MINSU, kind="brand"),
    _c("lishuishanju", CHENJIAPU, DAJUN_MINSU, TITIAN_MINSU, kind="brand"),
    _c("lssj", kind="brand", every=("family_name", "丽水山坊")),  # 丽水山居 and 丽水山景 share the initials
    _c("侨乡优品", kind="brand", every=("family_name", "侨乡优品")),
    _c("qxyp", kind="brand", every=("family_name", "侨乡优品")),
    _c("台州好产品", kind="brand", every=("family_name", "台州好产品")),
    _c("taizhouhaochanpin", kind="brand", every=("family_name", "台州好产品")),
    _c("剡青优选", kind="brand", every=("family_name", "剡青优选")),
    _c("潮城共富", kind="brand", every=("family_name", "潮城共富")),
    _c("知味红", GUFA_HONGTANG, kind="brand", every=("workshop_name", "知味红·红糖工坊")),
    _c("侨乡丽人", kind="brand", every=("brand_name", "侨乡丽人")),
    # ---- places
    _c("青田", kind="place", every=("county_name", "青田县")),
    _c("qingtian", kind="place", every=("county_name", "青田县")),
    _c("景宁", HUIMINGCHA, kind="place", every=("county_name", "景宁畲族自治县")),
    _c("jingning", kind="place", every=("county_name", "景宁畲族自治县")),
    _c("庆元", kind="place", every=("county_name", "庆元县")),
    _c("qingyuan", kind="place", every=("county_name", "庆元县")),
    _c("嵊州", kind="place", every=("county_name", "嵊州市")),
    _c("海宁", kind="place", every=("county_name", "海宁市")),
    _c("路桥", kind="place", every=("county_name", "路桥区")),
    _c("上坪村", GUFA_HONGTANG, kind="place", every=("workshop_name", "知味红·红糖工坊")),
    _c("崇仁", kind="place", every=("county_name", "嵊州市")),
    # ---- mixed
    _c("青田 hongtang", GUFA_HONGTANG, kind="mixed", every=SUGAR),
    _c("qingtian 红糖", GUFA_HONGTANG, kind="mixed", every=SUGAR),
    _c("庆元 xianggu", DUANMU_XIANGGU, kind="mixed", every=("county_name", "庆元县")),
    _c("jingning huimingcha", HUIMINGCHA, kind="mixed"),
    _c("松阳 茶", XIANGCHA, YINHOU, DUANWUCHA, kind="mixed"),
    _c("嵊州 小吃", XIAOLONGBAO, kind="mixed", every=("county_name", "嵊州市")),
    _c("shengzhou xiaochi", XIAOLONGBAO, kind="mixed", every=("county_name", "嵊州市")),
    _c("山耕 香菇", DUANMU_XIANGGU, kind="mixed", every=("brand_name", "山耕")),
    _c("红糖 礼盒", HONGTANG_LIHE, kind="mixed", first=HONGTANG_LIHE),
    _c("hongtang lihe", HONGTANG_LIHE, kind="mixed", first=HONGTANG_LIHE),
    # ---- filters
    _c("红糖", GUFA_HONGTANG, kind="filter", in_stock=True, every=("in_stock", True)),
    _c("杨梅", YANGMEI, kind="filter", in_stock=False),
    _c("茶", XIANGCHA, YINHOU, DUANWUCHA, kind="filter", county="松阳县"),
    _c("民宿", CHENJIAPU, DAJUN_MINSU, TITIAN_MINSU, kind="filter", family="丽水山坊"),
    _c("minsu", ZUOWANGGU_MINSU, kind="filter", family="侨乡优品"),
    _c("手工", SHIBINGTONG, QINGTUAN, MAIXIA, kind="filter", family="台州好产品"),
    _c("水果", YANGMEI, CAOMEI, XUELI, kind="filter", price_band=("50_100",)),
    _c("hongtang", HONGTANG_LIHE, kind="filter", price_band=("100_200",)),
    _c("蜂蜜", FENGMI_DONG, kind="filter", county="莲都区", price_band=("50_100",)),
    _c("民宿", ZUOWANGGU_MINSU, TITIAN_MINSU, kind="filter", stars_min=5),
    _c("xianggu", DUANMU_XIANGGU, kind="filter", family="丽水山坊", in_stock=True, every=MUSHROOM),
    # ---- sorts
    _c("红糖", JIANG_HONGTANG, kind="sort", sort="price_asc", first=JIANG_HONGTANG),
    _c("红糖", HONGTANG_LIHE, kind="sort", sort="price_desc", first=HONGTANG_LIHE),
    _c("番薯", FANSHUGAN, kind="sort", sort="sales", first=FANSHUGAN),
    _c("民宿", MANSHIGUANG, kind="sort", sort="price_asc", first=MANSHIGUANG),
    _c("香菇", HUAGU, kind="sort", sort="sales", first=HUAGU),
    _c("茶叶", HUIMINGCHA, kind="sort", sort="price_desc", first=HUIMINGCHA),
    _c("青田", kind="sort", sort="rating", every=("stars", 5)),
    _c("", PINTU, kind="sort", county="云和县", sort="price_asc", first=PINTU),
)
