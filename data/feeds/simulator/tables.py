"""Text tables and vocabularies of the simulated events: subtypes (code, Chinese text,
probability) per source and category, hotline request types and channels, business sectors."""

from __future__ import annotations

_SUBTYPES: dict[str, dict[str, list[tuple[str, str, float]]]] = {
    "police": {
        "criminal": [
            ("theft", "报警称财物被盗", 0.8),
            ("fraud", "报警称遭遇电信诈骗", 0.12),
            ("robbery", "报警称被抢劫", 0.03),
            ("assault", "报警称被人殴打致伤", 0.05),
        ],
        "public_order": [
            ("fight", "群众报警称有人打架斗殴", 0.45),
            ("drunk", "醉酒人员滋事", 0.25),
            ("disturbance", "有人聚众吵闹扰民", 0.2),
            ("gambling", "举报聚众赌博", 0.1),
        ],
        "traffic": [
            ("accident", "交通事故报警", 0.55),
            ("congestion", "道路拥堵请求疏导", 0.15),
            ("move_car", "车辆占道请求挪车", 0.3),
        ],
        "dispute": [
            ("neighbour", "邻里纠纷", 0.45),
            ("labour", "劳资纠纷", 0.2),
            ("commercial", "经济纠纷", 0.2),
            ("family", "家庭纠纷", 0.15),
        ],
        "assistance": [
            ("lost_person", "走失人员求助", 0.2),
            ("locked_out", "被锁门外求助", 0.25),
            ("medical", "突发疾病求助", 0.25),
            ("other", "其他求助", 0.3),
        ],
        "fire_disaster": [
            ("fire", "火警", 0.7),
            ("gas_leak", "燃气泄漏", 0.15),
            ("flood", "积水灾情", 0.15),
        ],
        "other": [
            ("report", "举报投诉", 0.5),
            ("consult", "咨询", 0.3),
            ("other", "其他警情", 0.2),
        ],
    },
    "traffic": {
        "accident": [("collision", "交通事故", 1.0)],
        "congestion": [("reading", "拥堵指数", 1.0)],
        "road_hazard": [
            ("pothole", "路面坑槽", 0.35),
            ("debris", "路面遗撒", 0.25),
            ("ice", "路面结冰", 0.2),
            ("signal", "信号灯故障", 0.2),
        ],
        "violation": [
            ("illegal_parking", "违法停车", 0.55),
            ("speeding", "超速行驶", 0.2),
            ("red_light", "闯红灯", 0.15),
            ("wrong_way", "逆向行驶", 0.1),
        ],
    },
    "market": {
        "complaint": [
            ("quality", "商品质量问题", 0.35),
            ("after_sales", "售后服务问题", 0.3),
            ("contract", "合同纠纷", 0.15),
            ("prepaid_card", "预付卡退费难", 0.1),
            ("false_advertising", "虚假宣传", 0.1),
        ],
        "violation_report": [
            ("food_safety", "食品安全违法", 0.4),
            ("consumer_rights", "侵害消费者权益", 0.35),
            ("unfair_competition", "不正当竞争", 0.25),
        ],
        "enquiry": [("policy", "政策咨询", 0.5), ("rights", "维权咨询", 0.5)],
        "inspection": [("routine", "日常监督检查", 1.0)],
        "food_safety": [("sampling", "食品安全监督抽检", 1.0)],
    },
    "hotline": {
        "heating": [
            ("not_warm", "家中暖气不热", 0.49),
            ("below_standard", "室温不达标", 0.23),
            ("valve_closed", "供热阀门未开启", 0.17),
            ("billing", "供热收费问题", 0.11),
        ],
        "utilities": [("water", "停水", 0.4), ("power", "停电", 0.3), ("gas", "燃气问题", 0.3)],
        "property": [("service", "物业服务问题", 1.0)],
        "traffic": [("bus", "公交线路问题", 0.5), ("road", "道路破损", 0.5)],
        "noise": [
            ("construction", "夜间施工噪音", 0.5),
            ("commercial", "商铺噪音扰民", 0.3),
            ("neighbour", "邻居噪音", 0.2),
        ],
        "labour": [("wages", "拖欠工资", 0.6), ("social_security", "社保问题", 0.4)],
        "illegal_construction": [("building", "违章建筑", 1.0)],
        "city_appearance": [
            ("garbage", "垃圾清运不及时", 0.5),
            ("stalls", "占道经营", 0.3),
            ("greening", "绿化问题", 0.2),
        ],
        "consumer": [("dispute", "消费纠纷", 1.0)],
        "education": [("school", "入学咨询", 1.0)],
        "health": [("medical", "医疗服务", 1.0)],
        "other": [("other", "其他诉求", 1.0)],
    },
}
_HOTLINE_TYPES = ("consult", "help", "suggestion", "complaint")
_HOTLINE_TYPES_ZH = ("咨询", "求助", "建议", "投诉")
_HOTLINE_CHANNELS = ("phone", "wechat", "web", "email")
_SECTORS = [  # (code, zh, goods?)
    ("food", "食品", True),
    ("clothing", "服装", True),
    ("household", "日用品", True),
    ("vehicle", "汽车", True),
    ("phone", "手机", True),
    ("appliance", "家电", True),
    ("catering", "餐饮", False),
    ("lodging", "住宿", False),
    ("beauty", "美容美发", False),
    ("telecom", "通信", False),
    ("prepaid", "健身培训", False),
]
