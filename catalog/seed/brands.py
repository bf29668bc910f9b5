"""Brand families ("1+N" 母子品牌, DB3311/T 244 §9.1): each root is a family, children are its sub-brands."""

from __future__ import annotations

from catalog.seed.specs import BrandSpec

BRAND_FAMILIES: tuple[BrandSpec, ...] = (
    BrandSpec(
        "丽水山坊",
        "lishui-shanfang",
        "丽水山系“共富工坊”母品牌。依托“丽水山耕”“丽水山景”“丽水山居”“丽水山播”等“山”字系区域公用品牌，"
        "全市建成丽水山系共富工坊599家，带动4.7万余名群众在“家门口”就业致富。",
        (
            BrandSpec("山耕", "shangeng", "山耕工坊：丽水山区的生态农产品——茶叶、香菇、木耳、山茶油、笋干、土蜂蜜。"),
            BrandSpec("山景", "shanjing", "山景工坊：梯田、古村、畲乡风情，农事体验与乡村研学。"),
            BrandSpec("山居", "shanju", "山居工坊：由闲置农房改造的乡村民宿，住进丽水的山里。"),
            BrandSpec("山播", "shanbo", "山播工坊：村播在共享直播间里带货，让山货出山。"),
        ),
    ),
    BrandSpec(
        "侨乡优品",
        "qiaoxiang-youpin",
        "青田县侨乡“共富工坊”品牌矩阵：全县建成共富工坊77家，推动3897名群众在“家门口”就业，人均月增收1900多元。",
        (
            BrandSpec("侨乡丽人", "qiaoxiang-liren", "青田巾帼来料加工品牌，专为妇女、残疾人和低收入群众设立工位。"),
            BrandSpec("侨乡村游", "qiaoxiang-cunyou", "青田乡村文旅：山谷民宿、田园研学，盘活山区“绿经济”。"),
        ),
    ),
    BrandSpec(
        "台州好产品",
        "taizhou-haochanpin",
        "依托台州好产品直播供应链基地，集成台州各地共富工坊名优产品，入驻台州市“共富工坊”综合服务中心。",
        (BrandSpec("妈妈的味道", "mamade-weidao", "台州家常手作美食，精选入驻综合服务中心的“妈妈的味道”专区。"),),
    ),
    BrandSpec(
        "剡青优选",
        "shanqing-youxuan",
        "嵊州“剡青优选”助力共富工坊建设直播周的选品品牌：番薯、小吃和工坊好物。",
    ),
    BrandSpec(
        "潮城共富",
        "chaocheng-gongfu",
        "海宁“潮城共富工坊”：花卉直播、文旅融合和巾帼手作，长安镇培育市级示范工坊14家。",
    ),
)
