"""Word lists and produce categories for synthetic catalogues (合成数据): place + produce + packaging."""

from __future__ import annotations

import random
from dataclasses import dataclass

from catalog.seed.regions import COUNTIES

# County → the brand family its products carry; 德清 has no family in the demo, so it gets no synthetic workshops.
COUNTY_FAMILY = {c.name: "丽水山坊" for c in COUNTIES if c.city == "丽水市"} | {
    "青田县": "侨乡优品",
    "路桥区": "台州好产品",
    "嵊州市": "剡青优选",
    "海宁市": "潮城共富",
}
TOWNSHIP_ROOTS = [
    "东溪",
    "西坑",
    "南山",
    "北岭",
    "龙泉",
    "石门",
    "竹源",
    "梅岭",
    "桃花",
    "枫林",
    "清水",
    "白岩",
    "黄坛",
    "云峰",
    "金竹",
    "青岗",
    "茶园",
    "岭头",
]
VILLAGE_ROOTS = [
    "上坪",
    "下洋",
    "后山",
    "前村",
    "坑口",
    "岭下",
    "溪头",
    "塘边",
    "大坪",
    "小溪",
    "石寨",
    "竹坞",
    "茶坑",
    "枫树",
    "樟村",
    "岙里",
    "桥头",
    "田心",
    "新屋",
    "老街",
    "山脚",
    "半岭",
    "高岙",
    "水口",
    "林场",
    "杨梅",
    "柿坑",
    "桂花",
    "外坞",
    "里庄",
]


@dataclass(frozen=True, slots=True)
class Category:
    """A kind of produce: names, the words around them, its packs (name, grams, price factor) and the price of one."""

    theme: str
    nouns: tuple[str, ...]
    qualifiers: tuple[str, ...]
    packs: tuple[tuple[str, int, int], ...]  # (name, weight_g, price in percent of the base)
    base_fen: tuple[int, int]
    shelf_life_days: int | None
    sub_brand: str  # sub-brand within 丽水山坊 / 侨乡优品 / 台州好产品; "" for the family root
    process: tuple[str, ...]


_DRY = (("250g 袋装", 250, 55), ("500g 袋装", 500, 100), ("1kg 罐装", 1000, 190), ("礼盒装", 1000, 260))
CATEGORIES: tuple[Category, ...] = (
    Category(
        "红糖",
        ("红糖", "古法红糖", "老姜红糖", "黑糖块", "红糖姜茶"),
        ("古法", "手工", "柴火", "老作坊"),
        _DRY,
        (2500, 4500),
        365,
        "",
        ("甘蔗现榨，柴火慢熬四五个小时", "铁锅熬制，不加糖浆"),
    ),
    Category(
        "番薯",
        ("番薯干", "红薯干", "地瓜干", "紫薯干", "番薯粉丝", "红薯粉", "新鲜红薯"),
        ("农家", "软糯", "蒸晒", "订单种植"),
        _DRY,
        (1800, 3500),
        180,
        "",
        ("保底收购的本地番薯，蒸熟晾晒三次", "农户按统一标准种植，工坊加工包装"),
    ),
    Category(
        "菌菇",
        ("香菇", "花菇", "黑木耳", "椴木香菇", "猴头菇", "灵芝片"),
        ("高山", "特级", "椴木", "野生"),
        _DRY,
        (3500, 7000),
        365,
        "山耕",
        ("林下栽培，分级烘干", "砍花法古法栽培，工坊统一收购"),
    ),
    Category(
        "茶叶",
        ("绿茶", "白茶", "红茶", "香茶", "高山云雾茶", "惠明茶", "银猴"),
        ("明前", "特级", "高山", "手工"),
        (("50g 罐装", 50, 60), ("100g 罐装", 100, 100), ("250g 礼盒", 250, 230)),
        (8800, 26800),
        540,
        "山耕",
        ("一芽一叶初展采摘，手工炒制", "高山茶园，合作社统一炒制"),
    ),
    Category(
        "山货",
        ("笋干", "土蜂蜜", "山茶油", "梅干菜", "菊米", "锥栗", "莲子", "田鱼干"),
        ("高山", "农家", "土法", "头茬"),
        _DRY,
        (3000, 9800),
        365,
        "山耕",
        ("流动供销车从山村收来", "村民手工采收晾晒"),
    ),
    Category(
        "水果",
        ("杨梅", "甜桔柚", "枇杷", "雪梨", "猕猴桃", "草莓", "柑橘"),
        ("当季", "现摘", "高山", "精品"),
        (("3斤 箱装", 1500, 100), ("5斤 箱装", 2500, 160), ("10斤 整箱", 5000, 290)),
        (3800, 8800),
        10,
        "山耕",
        ("当天采摘，冷链发货", "果农在共享直播间里现摘现发"),
    ),
    Category(
        "米面",
        ("大米", "梯田米", "稻鱼米", "榨面", "手工面", "年糕"),
        ("新米", "山泉", "手工", "农家"),
        (("2.5kg 袋装", 2500, 100), ("5kg 袋装", 5000, 185)),
        (4800, 6800),
        365,
        "山耕",
        ("一年一季，现碾现发", "山泉水灌溉，合作社统一收购"),
    ),
    Category(
        "小吃",
        ("小笼包", "烧饼", "食饼筒", "青团", "粽子", "麦饼"),
        ("手工", "速冻", "家常", "老字号"),
        (("10只装", 1000, 100), ("20只装", 2000, 180), ("30只装", 3000, 250)),
        (3500, 5980),
        180,
        "",
        ("培训班学员按统一配方手工制作，速冻锁鲜", "村里的阿姨们手工包制"),
    ),
    Category(
        "手作",
        ("布艺收纳篮", "刺绣香囊", "棉麻围裙", "木制积木", "青瓷茶杯", "竹编果篮", "真皮零钱包"),
        ("手工", "非遗", "巾帼", "匠心"),
        (("单件", 300, 100), ("两件装", 600, 180)),
        (1980, 8800),
        None,
        "",
        ("来料加工点的姐妹们在家门口按件制作", "村民拉坯、施釉、打磨，每件略有不同"),
    ),
)


def brand_for(family: str, category: Category, rng: random.Random) -> str:
    if family == "丽水山坊":
        return (category.sub_brand or "丽水山坊") if rng.random() < 0.8 else "山播"
    if family == "台州好产品" and category.theme == "小吃":
        return "妈妈的味道"
    if family == "侨乡优品" and category.theme == "手作":
        return "侨乡丽人"
    return family
