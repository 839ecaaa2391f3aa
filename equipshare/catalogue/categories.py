"""The national classification of scientific research instruments, first level.

These are the fifteen top-level classes (大类) used by the national large research-instrument
sharing network (大型科研仪器分类). The code is the class's two-digit number in that list; it
is stable and is what ``ensure_categories`` matches on, so an admin may rename a class without
it being re-created. This module is data: the Chinese names are the official ones.
"""

from __future__ import annotations

from typing import NamedTuple


class CategorySeed(NamedTuple):
    code: str
    name_zh: str
    name_en: str


NATIONAL_CATEGORIES: tuple[CategorySeed, ...] = (
    CategorySeed("01", "分析仪器", "Analytical instruments"),
    CategorySeed("02", "物理性能测试仪器", "Physical property testing instruments"),
    CategorySeed("03", "计量仪器", "Metrology instruments"),
    CategorySeed("04", "电子测量仪器", "Electronic measuring instruments"),
    CategorySeed("05", "海洋仪器", "Oceanographic instruments"),
    CategorySeed("06", "地球探测仪器", "Earth exploration instruments"),
    CategorySeed("07", "大气探测仪器", "Atmospheric sounding instruments"),
    CategorySeed("08", "特种检测仪器", "Special inspection instruments"),
    CategorySeed("09", "激光器", "Lasers"),
    CategorySeed("10", "工艺试验仪器", "Process testing instruments"),
    CategorySeed("11", "计算机及其配套设备", "Computers and peripheral equipment"),
    CategorySeed("12", "天文仪器", "Astronomical instruments"),
    CategorySeed("13", "医学科研仪器", "Medical research instruments"),
    CategorySeed("14", "核仪器", "Nuclear instruments"),
    CategorySeed("15", "其他仪器", "Other instruments"),
)
