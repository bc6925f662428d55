"""What the stand-in APIs serve in the connector tests: the shop's customers,
orders and chats, and the credit bureau's persons and enterprises."""

from __future__ import annotations

from tests.helpers import credit_code, resident_id

CUSTOMERS = [
    {
        "id": "U1",
        "name": "张伟",
        "mobile": "138 0013 8000",
        "email": "zhangwei@163.com",
        "city": "北京",
        "updated_at": "2025-01-01T09:00:00+08:00",
    },
    {
        "id": "U2",
        "name": "李娜",
        "mobile": "+86 139 0013 9000",
        "email": None,
        "city": "上海",
        "updated_at": "2025-01-02T09:00:00+08:00",
    },
    {
        "id": "U3",
        "name": "John Smith",
        "mobile": None,
        "email": "john.smith@example.com",
        "city": "Shenzhen",
        "updated_at": "2025-01-03T09:00:00+08:00",
    },
    {
        "id": "U4",
        "name": "Emily Chen",
        "mobile": "13700137000",
        "email": "EMILY@qq.com",
        "city": "广州",
        "updated_at": "2025-01-04T09:00:00+08:00",
    },
    {
        "id": "U5",
        "name": "王芳",
        "mobile": "13600136000",
        "email": "wangfang@126.com",
        "city": "杭州",
        "updated_at": "2025-01-05T09:00:00+08:00",
    },
]


ORDERS = [
    {
        "id": f"SO{i}",
        "customer_id": f"U{i % 5 + 1}",
        "amount": f"{100 + i}.00",
        "currency": "CNY",
        "channel": "web" if i % 2 else "小程序",
        "created_at": f"2025-02-0{i % 9 + 1}T10:00:00+08:00",
        "updated_at": f"2025-02-0{i % 9 + 1}T10:00:00+08:00",
    }
    for i in range(7)
]


CHATS = [
    {
        "id": "CH1",
        "customer_id": "U1",
        "text": "请问什么时候发货？",
        "created_at": "2025-03-01T10:00:00+08:00",
        "updated_at": "2025-03-01T10:00:00+08:00",
    },
    {
        "id": "CH2",
        "customer_id": "U3",
        "text": "Where is my parcel?",
        "created_at": "2025-03-02T10:00:00+08:00",
        "updated_at": "2025-03-02T10:00:00+08:00",
    },
    {
        "id": "CH3",
        "customer_id": "U4",
        "text": "退货流程是什么？",
        "created_at": "2025-03-03T10:00:00+08:00",
        "updated_at": "2025-03-03T10:00:00+08:00",
    },
]


ZHANG = resident_id("110101", "19900307", "123")


LI = resident_id("310104", "19851120", "224")


ACME = credit_code("91110108MA01ABCDE")


OLD = credit_code("91310000MA1FL0000")


PERSONS = {
    ZHANG: {
        "credit": {
            "score": 712,
            "band": "B",
            "overdue": {"count": 1, "amount": 1200.5},
            "defaults": {"count": 0},
        },
        "court": {"enforcements": [], "dishonest": []},
    },
    LI: {
        "credit": {
            "score": 480,
            "band": "E",
            "overdue": {"count": 5, "amount": 30000},
            "defaults": {"count": 1},
        },
        "court": {
            "enforcements": [{"case_no": "（2023）沪0104执123号", "amount": 50000}],
            "dishonest": [{"case_no": "（2024）沪0104执456号", "behaviour": "拒不履行"}],
        },
    },
}


ENTERPRISES = {
    ACME: {
        "registration": {
            "name": "北京华信科技有限公司",
            "uscc": ACME,
            "status": "存续",
            "registered_capital": "1000万元人民币",
            "legal_representative": "张伟",
            "established": "2015-03-02",
            "industry": "软件",
            "approved_at": "2024-06-01",
        },
        "shareholders": [
            {"name": "张伟", "type": "person", "ratio": 0.6},
            {"name": "上海远景投资有限公司", "type": "enterprise", "uscc": OLD, "ratio": 0.4},
        ],
        "credit": {"score": 810, "band": "A"},
        "court": {},
    },
    OLD: {
        "registration": {
            "name": "上海远景投资有限公司",
            "uscc": OLD,
            "status": "吊销",
            "registered_capital": "500万元",
            "legal_representative": "Li Na",
        },
        "credit": {"score": 350, "band": "E"},
    },
}
