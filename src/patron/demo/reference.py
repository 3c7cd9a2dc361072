"""Fixed reference data for the demo: places, phone plans, the product catalogue, word lists.

Everything here is plain data so the generator can sample from it with numpy. The demo company
sells tea, teaware and gifts to people and businesses across China.
"""

from typing import NamedTuple


class Place(NamedTuple):
    region: str  # province or municipality, as customers write it
    city: str
    area_code: str  # landline area code without the trunk 0
    landline_first: str  # digits a local number may start with
    weight: float  # share of customers
    group: str  # "east" or "north": which sales team covers it


# Landline numbers here are 8 digits after the area code; each pattern passes
# phonenumbers.is_valid_number (checked by tests/demo/test_demo_data.py).
PLACES: tuple[Place, ...] = (
    Place("上海", "上海", "21", "56", 14, "east"),
    Place("浙江", "杭州", "571", "8", 8, "east"),
    Place("浙江", "宁波", "574", "8", 4, "east"),
    Place("江苏", "南京", "25", "8", 6, "east"),
    Place("江苏", "苏州", "512", "6", 6, "east"),
    Place("广东", "广州", "20", "38", 7, "east"),
    Place("广东", "深圳", "755", "28", 8, "east"),
    Place("四川", "成都", "28", "8", 5, "east"),
    Place("湖北", "武汉", "27", "8", 4, "east"),
    Place("湖南", "长沙", "731", "8", 3, "east"),
    Place("北京", "北京", "10", "68", 12, "north"),
    Place("天津", "天津", "22", "2", 4, "north"),
    Place("山东", "济南", "531", "8", 3, "north"),
    Place("山东", "青岛", "532", "8", 4, "north"),
    Place("河南", "郑州", "371", "6", 3, "north"),
    Place("陕西", "西安", "29", "8", 4, "north"),
    Place("重庆", "重庆", "23", "6", 3, "north"),
)

# Chinese mobile prefixes (1[3-9]x) in service with all three carriers.
MOBILE_PREFIXES: tuple[str, ...] = (
    "130", "131", "132", "133", "134", "135", "136", "137", "138", "139",
    "150", "151", "152", "153", "155", "156", "157", "158", "159",
    "166", "176", "177", "178",
    "180", "181", "182", "183", "184", "185", "186", "187", "188", "189",
    "191", "198", "199",
)

MAIL_DOMAINS: tuple[str, ...] = (
    "qq.com", "163.com", "126.com", "sina.com", "foxmail.com", "139.com", "gmail.com",
    "outlook.com", "yahoo.com",
)

INDUSTRIES: tuple[str, ...] = (
    "制造业", "零售", "餐饮", "互联网", "教育", "医疗健康", "金融", "物流", "房地产", "酒店",
    "政府机关", "文化传媒",
)

JOB_TITLES: tuple[str, ...] = (
    "采购经理", "行政主管", "总经理", "办公室主任", "人事经理", "市场总监", "财务经理",
    "Purchasing Manager", "Office Manager",
)


class ProductSpec(NamedTuple):
    sku: str
    name: str
    category: str
    price: int  # list price in yuan
    popularity: float
    partners: tuple[str, ...]  # SKUs often bought in the same order


PRODUCTS: tuple[ProductSpec, ...] = (
    ProductSpec("TEA-LJ-250", "西湖龙井 250g", "绿茶 Green tea", 368, 9, ("WARE-GW", "WARE-BL")),
    ProductSpec("TEA-LJ-500", "西湖龙井 500g", "绿茶 Green tea", 698, 4, ("WARE-GW",)),
    ProductSpec("TEA-BLC-250", "碧螺春 250g", "绿茶 Green tea", 268, 6, ("WARE-BL",)),
    ProductSpec("TEA-MF-250", "黄山毛峰 250g", "绿茶 Green tea", 198, 4, ()),
    ProductSpec("TEA-AJ-100", "安吉白茶 100g", "绿茶 Green tea", 236, 3, ("WARE-BL",)),
    ProductSpec("TEA-TGY-250", "安溪铁观音 250g", "乌龙茶 Oolong", 228, 7, ("WARE-GW", "WARE-GDB")),
    ProductSpec("TEA-DHP-250", "武夷大红袍 250g", "乌龙茶 Oolong", 458, 5, ("WARE-ZSH", "WARE-CP")),
    ProductSpec("TEA-DC-200", "凤凰单丛 200g", "乌龙茶 Oolong", 326, 3, ("WARE-GW",)),
    ProductSpec("TEA-PE-357", "云南普洱熟茶饼 357g", "黑茶 Dark tea", 298, 6,
                ("WARE-ZSH", "WARE-CP")),
    ProductSpec("TEA-PES-357", "普洱生茶饼 357g", "黑茶 Dark tea", 388, 3, ("WARE-CD",)),
    ProductSpec("TEA-AHZ-1KG", "安化黑茶 1kg", "黑茶 Dark tea", 268, 2, ()),
    ProductSpec("TEA-QM-200", "祁门红茶 200g", "红茶 Black tea", 186, 5, ("SNK-FLS",)),
    ProductSpec("TEA-JJM-150", "金骏眉 150g", "红茶 Black tea", 428, 4, ("SNK-FLS", "WARE-GW")),
    ProductSpec("TEA-DH-200", "滇红 200g", "红茶 Black tea", 158, 3, ()),
    ProductSpec("TEA-BMD-300", "福鼎白牡丹 300g", "白茶 White tea", 336, 3, ("WARE-ZC",)),
    ProductSpec("TEA-SMS-350", "寿眉饼 350g", "白茶 White tea", 218, 2, ()),
    ProductSpec("TEA-MLH-250", "茉莉花茶 250g", "花茶 Scented tea", 128, 5, ("SNK-HTS",)),
    ProductSpec("TEA-JH-100", "杭白菊 100g", "花茶 Scented tea", 68, 3, ("SNK-GZ",)),
    ProductSpec("WARE-GW", "青花盖碗", "茶具 Teaware", 168, 4, ()),
    ProductSpec("WARE-BL", "玻璃公道杯", "茶具 Teaware", 88, 4, ()),
    ProductSpec("WARE-ZSH", "宜兴紫砂壶", "茶具 Teaware", 880, 2, ("WARE-CP",)),
    ProductSpec("WARE-CP", "竹制茶盘", "茶具 Teaware", 358, 2, ()),
    ProductSpec("WARE-GDB", "旅行茶具套装", "茶具 Teaware", 199, 3, ()),
    ProductSpec("WARE-CD", "普洱茶刀", "茶具 Teaware", 48, 2, ()),
    ProductSpec("WARE-ZC", "白瓷品茗杯 6只", "茶具 Teaware", 128, 3, ()),
    ProductSpec("WARE-TJ", "电陶炉", "茶具 Teaware", 459, 1, ("WARE-ZSH",)),
    ProductSpec("SNK-FLS", "凤梨酥礼盒", "茶点 Snacks", 78, 5, ()),
    ProductSpec("SNK-HTS", "核桃酥", "茶点 Snacks", 45, 4, ()),
    ProductSpec("SNK-GZ", "枸杞干果", "茶点 Snacks", 58, 3, ()),
    ProductSpec("SNK-JG", "每日坚果 30包", "茶点 Snacks", 139, 4, ()),
    ProductSpec("SNK-YB", "苏式月饼礼盒", "茶点 Snacks", 168, 2, ("GIFT-ZQ",)),
    ProductSpec("GIFT-ZQ", "中秋茶礼盒", "礼盒 Gift boxes", 588, 3, ("SNK-YB",)),
    ProductSpec("GIFT-CJ", "春节茶礼盒", "礼盒 Gift boxes", 688, 3, ("SNK-JG",)),
    ProductSpec("GIFT-SW", "商务茶礼套装", "礼盒 Gift boxes", 1280, 2, ("GIFT-HK",)),
    ProductSpec("GIFT-HK", "定制贺卡", "礼盒 Gift boxes", 12, 2, ()),
    ProductSpec("GIFT-QY", "企业定制茶礼 (10份)", "礼盒 Gift boxes", 3980, 1, ("GIFT-HK",)),
    ProductSpec("SVC-PX", "茶艺培训课程", "服务 Services", 1200, 1, ("WARE-GW",)),
    ProductSpec("SVC-HH", "茶会活动策划", "服务 Services", 5800, 0.5, ("GIFT-SW",)),
    ProductSpec("SVC-DY", "季度订阅：精选好茶", "服务 Services", 899, 1, ()),
    ProductSpec("SVC-PS", "同城配送", "服务 Services", 20, 3, ()),
)

# What the reps write (reasons, topics, subjects, task titles) is in the demo organisation's
# language, Chinese, as its reps use the pages in it: an English title among them read as a
# mix ("Call back：West Ltd"). Customers' names may be English: some customers are.
LOST_REASONS: tuple[str, ...] = (
    "价格偏高", "选择了竞争对手", "预算取消", "决策延期", "需求变更", "报价超出预算",
    "未作决定",
)
COMPETITORS: tuple[str, ...] = ("天福茗茶", "八马茶业", "小罐茶", "竹叶青", "华祥苑")
DISQUALIFY_REASONS: tuple[str, ...] = ("无购买意向", "联系不上", "重复线索", "不在服务区域")

# An opportunity is called "<customer> · <topic>".
DEAL_TOPICS: tuple[str, ...] = (
    "年度员工福利茶礼", "中秋礼盒采购", "春节礼品采购", "会议用茶", "茶艺培训", "办公室茶水供应",
    "企业礼品定制",
)
INTERACTION_SUBJECTS: dict[str, tuple[str, ...]] = {
    "order": ("订单确认", "发货通知", "售后回访", "满意度回访", "订单跟进"),
    "deal": ("需求沟通", "方案讲解", "报价", "样品试饮", "商务谈判", "上门拜访"),
    "lead": ("首次联系", "了解需求", "发送产品目录", "初次通话"),
}
TASK_TITLES: tuple[str, ...] = (
    "回访客户", "发送报价单", "确认收货", "预约拜访", "寄送样品", "跟进付款", "电话回访",
)
