"""Demo data for trying EquipShare locally: `flask --app wsgi demo-data`.

Three Linyi institutions with seven labs and 49 instruments (real models, bilingual names and
descriptions, specs, booking rules, rate cards for the three customer classes), five approved
firms with their admins, two academic client organisations, and one login per role.

Idempotent: every record is found by a natural key (institution name, lab name within its
institution, instrument model within its lab, credit code, organisation name, e-mail) and
brought to the values below; nothing is deleted; a second run changes nothing.

The first half of the module is data; the loader follows. Demo bookings come from a hook,
:func:`load_demo_bookings`, that later work fills in through the booking service.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import NamedTuple

from sqlalchemy import func, select

from equipshare.accounts.auth import hash_password, verify_password
from equipshare.accounts.credit_code import make_valid_code
from equipshare.accounts.models import MemberRole, MemberStatus, Organisation, OrgKind, OrgStatus, User
from equipshare.booking.models import Booking, Qualification
from equipshare.catalogue.models import Category, Institution, Instrument, Lab, RateCard
from equipshare.db import begin_write, utcnow
from equipshare.extensions import db

# A demo password, printed with the logins. Never load demo data into a production database.
DEMO_PASSWORD = "linyi-demo-2026"
DEMO_DOMAIN = "demo.example.com"

# ================================ Data ===========================================================

INSTITUTIONS = {
    # key: (name_zh, name_en, kind, address, website, description)
    "lyu": ("临沂大学", "Linyi University", "university", "山东省临沂市兰山区双岭路中段",
            "https://www.lyu.edu.cn", "综合性省属本科高校，大型仪器设备面向全市开放共享。"),
    "laas": ("临沂市农业科学院", "Linyi Academy of Agricultural Sciences", "institute",
             "山东省临沂市兰山区涑河北街", None, "市属农业科研机构，承担农产品质量安全与土壤肥料检测。"),
    "lyvc": ("临沂职业学院", "Linyi Vocational College", "college", "山东省临沂市罗庄区湖东二路",
             None, "高职院校，实训中心向中小企业提供计量、力学与电子测量服务。"),
}

LABS = {
    # key: (institution, name_zh, name_en, location, contact_name, contact_phone, description)
    "atc": ("lyu", "分析测试中心", "Analysis and Testing Centre", "临沂大学西校区 理工楼A座",
            "刘建国", "0539-7258001", "学校大型仪器共享平台，提供结构表征、成分分析与谱学测试。"),
    "mat": ("lyu", "先进材料表征平台", "Advanced Materials Characterisation Platform",
            "临沂大学西校区 材料楼", "刘建国", "0539-7258016", "热分析、力学、粒度与表面分析。"),
    "bio": ("lyu", "生命科学公共实验平台", "Life Sciences Core Facility", "临沂大学东校区 生科楼",
            "孙丽华", "0539-7258120", "细胞成像、流式分析与分子生物学平台。"),
    "qa": ("laas", "农产品质量安全检测中心", "Agricultural Product Quality and Safety Testing Centre",
           "农科院综合实验楼 3层", "王海涛", "0539-8312206", "农药残留、重金属与营养成分检测。"),
    "soil": ("laas", "土壤肥料研究室", "Soil and Fertiliser Laboratory", "农科院综合实验楼 2层",
             "王海涛", "0539-8312218", "土壤养分、肥料成分与植物营养分析。"),
    "mech": ("lyvc", "机电工程实训中心", "Mechatronics Training Centre", "临沂职业学院 实训楼B座",
             "陈志强", "0539-8856302", "几何量计量、材料力学与电子测量实训和对外服务。"),
    "food": ("lyvc", "食品检测实训中心", "Food Testing Training Centre", "临沂职业学院 实训楼C座",
             "陈志强", "0539-8856318", "食品理化与质构检测。"),
}

# Booking-rule presets (times are local minutes after midnight; weekdays ISO, 1 = Monday).
RULES = {
    "self": dict(slot_minutes=30, min_duration_minutes=30, max_duration_minutes=240, min_notice_hours=24,
                 horizon_days=60, open_minute=8 * 60 + 30, close_minute=17 * 60 + 30, open_weekdays="12345",
                 late_cancel_hours=24, max_open_requests_per_org=3),
    "long": dict(slot_minutes=60, min_duration_minutes=60, max_duration_minutes=480, min_notice_hours=24,
                 horizon_days=60, open_minute=8 * 60, close_minute=20 * 60, open_weekdays="123456",
                 late_cancel_hours=24, max_open_requests_per_org=2),
    "service": dict(slot_minutes=60, min_duration_minutes=60, max_duration_minutes=480, min_notice_hours=48,
                    horizon_days=90, open_minute=8 * 60, close_minute=17 * 60, open_weekdays="12345",
                    late_cancel_hours=48, max_open_requests_per_org=5),
    "day": dict(slot_minutes=240, min_duration_minutes=480, max_duration_minutes=2880, min_notice_hours=72,
                horizon_days=120, open_minute=0, close_minute=1440, open_weekdays="1234567",
                late_cancel_hours=72, max_open_requests_per_org=1),
}

# Enterprise fees are listed; internal pays half and academic users three quarters (whole yuan).
CLASS_FACTORS = {"internal": Decimal("0.5"), "academic": Decimal("0.75"), "enterprise": Decimal("1")}


class DemoInstrument(NamedTuple):
    lab: str
    category: str  # code from equipshare.catalogue.categories
    name_zh: str
    name_en: str
    manufacturer: str
    model: str
    room: str
    mode: str  # "self" (users operate it after training) or "service" (staff run samples)
    approval: bool
    fees: tuple[int, int, int, int]  # enterprise, in yuan: per hour, per sample, set-up, minimum charge
    specs: str  # "name: value" items separated by "; "
    description_zh: str
    description_en: str
    rules: str = ""  # RULES preset; default: the mode's
    status: str = "active"


I = DemoInstrument  # noqa: E741 (keeps the table below readable)

INSTRUMENTS = (
    # --- 临沂大学 分析测试中心 -----------------------------------------------------------------
    I("atc", "01", "场发射扫描电子显微镜", "Field-emission scanning electron microscope", "Hitachi", "SU8010",
      "A108", "self", True, (600, 0, 0, 300),
      "Resolution: 1.0 nm at 15 kV, 1.3 nm at 1 kV; Accelerating voltage: 0.1–30 kV; "
      "Magnification: 20×–800,000×; EDS: Oxford X-Max 80",
      "冷场发射扫描电镜，配能谱仪，适用于纳米材料形貌观察与微区成分分析。",
      "Cold field-emission SEM with EDS for nanoscale morphology and micro-area composition."),
    I("atc", "01", "场发射透射电子显微镜", "Field-emission transmission electron microscope", "JEOL", "JEM-2100F",
      "A105", "service", True, (1200, 0, 200, 1200),
      "Point resolution: 0.23 nm; Accelerating voltage: 200 kV; STEM: HAADF detector; EDS: Oxford X-Max 80T",
      "200 kV 场发射透射电镜，可进行高分辨成像、电子衍射与STEM-EDS面扫。",
      "200 kV FE-TEM for high-resolution imaging, electron diffraction and STEM-EDS mapping."),
    I("atc", "01", "400 MHz 核磁共振波谱仪", "400 MHz NMR spectrometer", "Bruker", "AVANCE NEO 400",
      "A112", "service", True, (0, 120, 0, 120),
      "Field: 9.4 T; Probe: BBO 5 mm with Z gradient; Nuclei: 1H, 13C, 19F, 31P and more; Autosampler: 24 positions",
      "提供一维、二维液体核磁测试，适用于有机化合物结构鉴定。",
      "1D and 2D solution NMR for structure elucidation of organic compounds."),
    I("atc", "01", "X射线衍射仪", "X-ray diffractometer", "Rigaku", "SmartLab 9kW",
      "A115", "self", True, (300, 0, 0, 150),
      "Source: 9 kW rotating Cu anode; Goniometer: θ-θ, 0.0001° step; Modes: powder, thin film, SAXS; "
      "Detector: HyPix-3000",
      "9 kW 转靶X射线衍射仪，可做粉末物相、薄膜掠入射与小角散射分析。",
      "9 kW rotating-anode XRD for powder phase analysis, grazing-incidence thin films and SAXS."),
    I("atc", "01", "X射线光电子能谱仪", "X-ray photoelectron spectrometer", "Thermo Fisher Scientific",
      "ESCALAB Xi+", "A118", "service", True, (0, 400, 0, 400),
      "Source: monochromated Al Kα; Spot size: 20–900 µm; Depth profiling: Ar ion and cluster gun; "
      "Energy resolution: ≤0.45 eV",
      "用于材料表面元素组成与化学态分析，可进行深度剖析。",
      "Surface elemental composition and chemical states, with depth profiling."),
    I("atc", "01", "高分辨液相色谱-质谱联用仪", "High-resolution LC-MS", "Thermo Fisher Scientific",
      "Q Exactive", "A121", "service", True, (0, 300, 100, 400),
      "Mass analyser: Orbitrap, resolution 140,000 at m/z 200; Mass range: m/z 50–6,000; "
      "Front end: Vanquish UHPLC",
      "高分辨质谱，适用于未知物鉴定、代谢组学与药物杂质分析。",
      "High-resolution Orbitrap MS for unknown identification, metabolomics and drug impurities."),
    I("atc", "01", "气相色谱仪", "Gas chromatograph", "Agilent", "7890B",
      "A123", "self", False, (150, 0, 0, 75),
      "Detectors: FID, TCD; Inlets: split/splitless; Oven: ambient +4 °C to 450 °C; Autosampler: 7693A",
      "常规气相色谱，适用于挥发性有机物定量分析，经培训后可自主上机。",
      "Routine GC for volatile organics; trained users book and run it themselves."),
    I("atc", "01", "气相色谱-质谱联用仪", "Gas chromatograph–mass spectrometer", "Agilent", "8890-5977B",
      "A124", "service", True, (0, 200, 0, 200),
      "Ion source: EI; Mass range: m/z 1.6–1,050; Library: NIST 20; Headspace: 7697A",
      "适用于挥发、半挥发性有机物定性定量分析，配顶空进样器。",
      "Qualitative and quantitative analysis of volatile and semi-volatile organics; headspace sampler."),
    I("atc", "01", "电感耦合等离子体质谱仪", "Inductively coupled plasma mass spectrometer", "Agilent", "7900",
      "A127", "service", True, (0, 150, 100, 300),
      "Detection limits: ppt level; Mass range: 2–260 u; Collision cell: ORS4 He mode; Dynamic range: 11 orders",
      "痕量及超痕量元素分析，适用于环境、食品与材料样品。",
      "Trace and ultra-trace element analysis of environmental, food and material samples."),
    I("atc", "01", "傅里叶变换红外光谱仪", "FTIR spectrometer", "Thermo Fisher Scientific", "Nicolet iS50",
      "A130", "self", False, (120, 0, 0, 60),
      "Range: 7,800–350 cm⁻¹; Resolution: 0.09 cm⁻¹; Accessories: diamond ATR, microscope",
      "红外光谱测试，配ATR附件与红外显微镜。",
      "Infrared spectra with diamond ATR and an IR microscope."),
    I("atc", "01", "紫外-可见分光光度计", "UV-Vis spectrophotometer", "Shimadzu", "UV-2600",
      "A131", "self", False, (80, 0, 0, 40),
      "Range: 185–900 nm (1,400 nm with ISR-2600Plus); Bandwidth: 0.1–5 nm; Accessory: integrating sphere",
      "溶液吸光度与固体漫反射测试，可计算带隙。",
      "Solution absorbance and solid diffuse reflectance, e.g. for band-gap estimation."),
    I("atc", "01", "有机元素分析仪", "Organic elemental analyser", "Elementar", "vario EL cube",
      "A133", "service", True, (0, 100, 0, 100),
      "Modes: CHNS, O; Sample weight: 0.02–800 mg; Precision: ≤0.1 % abs.",
      "测定有机样品中碳、氢、氮、硫、氧含量。",
      "C, H, N, S and O content of organic samples."),
    I("atc", "01", "高效液相色谱仪", "HPLC system", "Agilent", "1260 Infinity II",
      "A125", "self", True, (150, 0, 0, 75),
      "Pump: quaternary, 600 bar; Detectors: DAD, RID; Autosampler: 120 vials",
      "常规液相色谱分离与定量分析。",
      "Routine liquid-chromatography separations and quantification."),
    # --- 临沂大学 先进材料表征平台 ---------------------------------------------------------------
    I("mat", "02", "同步热分析仪", "Simultaneous thermal analyser (TG-DSC)", "NETZSCH", "STA 449 F3 Jupiter",
      "M102", "self", True, (200, 0, 0, 200),
      "Temperature: RT–1,550 °C; Balance resolution: 0.1 µg; Atmospheres: N₂, Ar, air, O₂; Coupling: FTIR",
      "同步测定热重与差示扫描量热，研究热稳定性与相变。",
      "Simultaneous TG and DSC for thermal stability and phase transitions.", rules="long"),
    I("mat", "02", "差示扫描量热仪", "Differential scanning calorimeter", "TA Instruments", "DSC 2500",
      "M103", "self", False, (150, 0, 0, 75),
      "Temperature: −180 to 725 °C; Modulated DSC: yes; Cooling: RCS90",
      "高分子熔融、结晶与玻璃化转变测试。",
      "Melting, crystallisation and glass transitions of polymers."),
    I("mat", "02", "激光粒度分析仪", "Laser diffraction particle size analyser", "Malvern Panalytical",
      "Mastersizer 3000", "M105", "self", False, (120, 0, 0, 60),
      "Range: 0.01–3,500 µm; Dispersion: Hydro EV (wet), Aero S (dry)",
      "湿法、干法粒度分布测试，适用于粉体与浆料。",
      "Wet and dry particle size distributions of powders and slurries."),
    I("mat", "02", "电子万能材料试验机", "Universal testing machine", "Instron", "5982",
      "M108", "self", True, (250, 0, 0, 125),
      "Capacity: 100 kN; Speed: 0.00005–1,016 mm/min; Extensometer: AVE 2 video; Chamber: −70 to 350 °C",
      "拉伸、压缩、弯曲力学性能测试，配视频引伸计与高低温箱。",
      "Tensile, compression and flexural tests, video extensometer and environmental chamber."),
    I("mat", "02", "比表面及孔径分析仪", "Surface area and porosimetry analyser", "Micromeritics", "ASAP 2460",
      "M110", "service", True, (0, 300, 0, 300),
      "Ports: 3 analysis, 6 degas; Surface area: from 0.0005 m²/g (Kr); Pore size: 0.35–500 nm",
      "BET比表面积、孔径分布与孔容测试。",
      "BET surface area, pore size distribution and pore volume.", rules="service"),
    I("mat", "02", "旋转流变仪", "Rotational rheometer", "Anton Paar", "MCR 302e",
      "M112", "self", True, (200, 0, 0, 100),
      "Torque: 1 nNm–230 mNm; Geometries: cone-plate, parallel plate, concentric cylinder; Temperature: −40 to 200 °C",
      "流体、软物质流变与黏弹性测试。",
      "Rheology and viscoelasticity of fluids and soft matter."),
    I("mat", "01", "纳米粒度及Zeta电位分析仪", "Nanoparticle size and zeta potential analyser",
      "Malvern Panalytical", "Zetasizer Nano ZS90", "M106", "self", False, (100, 0, 0, 50),
      "Size range: 0.3 nm–5 µm; Zeta potential: particles 3.8 nm–100 µm; Angle: 90°",
      "动态光散射测粒径，电泳光散射测Zeta电位。",
      "Particle size by dynamic light scattering, zeta potential by electrophoretic light scattering."),
    I("mat", "01", "原子力显微镜", "Atomic force microscope", "Bruker", "Dimension Icon",
      "M115", "self", True, (400, 0, 0, 200),
      "Modes: PeakForce Tapping, tapping, contact, KPFM, MFM; Scan range: 90 × 90 µm; Z noise: <30 pm",
      "表面形貌、力学与电学性质纳米尺度表征。",
      "Nanoscale surface topography, mechanical and electrical properties."),
    I("mat", "04", "电化学工作站", "Electrochemical workstation", "CH Instruments", "CHI 760E",
      "M118", "self", False, (80, 0, 0, 40),
      "Potential: ±10 V; Current: ±250 mA; Techniques: CV, LSV, EIS (10 µHz–1 MHz), chronoamperometry",
      "循环伏安、交流阻抗等常规电化学测试。",
      "Cyclic voltammetry, impedance and other routine electrochemistry."),
    I("mat", "02", "综合物性测量系统", "Physical property measurement system", "Quantum Design", "PPMS DynaCool",
      "M101", "service", True, (300, 0, 500, 2400),
      "Temperature: 1.8–400 K; Field: ±9 T; Options: VSM, resistivity, heat capacity",
      "低温强磁场下的磁学、电输运与比热测量。",
      "Magnetic, transport and heat-capacity measurements at low temperature and high field.",
      rules="day", status="maintenance"),
    I("mat", "10", "喷雾干燥仪", "Mini spray dryer", "BÜCHI", "B-290",
      "M120", "self", True, (120, 0, 0, 120),
      "Inlet temperature: up to 220 °C; Evaporation: 1 L/h water; Particle size: 1–25 µm",
      "实验室小型喷雾干燥制粉与微胶囊化工艺试验。",
      "Lab-scale spray drying and microencapsulation trials.", rules="long"),
    # --- 临沂大学 生命科学公共实验平台 -----------------------------------------------------------
    I("bio", "13", "激光共聚焦显微镜", "Confocal laser scanning microscope", "Zeiss", "LSM 980",
      "S201", "self", True, (350, 0, 0, 175),
      "Lasers: 405, 488, 561, 639 nm; Detector: Airyscan 2, 32-channel GaAsP; Incubation: live-cell stage",
      "活细胞成像、多色荧光与超分辨 Airyscan 成像。",
      "Live-cell, multicolour and Airyscan super-resolution imaging."),
    I("bio", "13", "流式细胞仪", "Flow cytometer", "BD Biosciences", "FACSCanto II",
      "S205", "self", True, (250, 0, 0, 125),
      "Lasers: 405, 488, 633 nm; Colours: 8; Acquisition: up to 10,000 events/s",
      "细胞表型、凋亡与周期分析。",
      "Cell phenotyping, apoptosis and cell-cycle analysis."),
    I("bio", "13", "实时荧光定量PCR仪", "Real-time PCR system", "Bio-Rad", "CFX96 Touch",
      "S208", "self", False, (80, 0, 0, 80),
      "Format: 96-well; Channels: 5 + FRET; Gradient: 1–24 °C across the block",
      "基因表达定量与SNP分型。",
      "Gene-expression quantification and SNP genotyping.", rules="long"),
    I("bio", "13", "多功能酶标仪", "Multi-mode microplate reader", "BioTek", "Synergy H1",
      "S210", "self", False, (60, 0, 0, 30),
      "Modes: absorbance, fluorescence, luminescence; Plates: 6–384 wells; Monochromator: 230–999 nm",
      "吸光、荧光与化学发光微孔板检测。",
      "Absorbance, fluorescence and luminescence plate reads."),
    I("bio", "13", "超速离心机", "Ultracentrifuge", "Beckman Coulter", "Optima XPN-100",
      "S212", "self", True, (150, 0, 0, 150),
      "Maximum speed: 100,000 rpm; Maximum RCF: 802,000 × g; Rotors: SW 41 Ti, Type 70 Ti",
      "亚细胞组分、病毒与外泌体分离。",
      "Separation of subcellular fractions, viruses and exosomes.", rules="long"),
    I("bio", "13", "凝胶成像系统", "Gel and blot imaging system", "Bio-Rad", "ChemiDoc MP",
      "S214", "self", False, (40, 0, 0, 20),
      "Modes: chemiluminescence, fluorescence (RGB, far-red, NIR), colorimetric; Resolution: 6 MP CCD",
      "核酸凝胶、Western blot化学发光与荧光成像。",
      "Nucleic-acid gels and western blots by chemiluminescence or fluorescence."),
    # --- 临沂市农业科学院 农产品质量安全检测中心 ---------------------------------------------------
    I("qa", "01", "三重四极杆液质联用仪", "Triple quadrupole LC-MS/MS", "SCIEX", "QTRAP 5500",
      "301", "service", True, (0, 280, 100, 380),
      "Mass range: m/z 5–1,250; Scan speed: 12,000 Da/s; MRM: up to 4,000 transitions; Front end: ExionLC AD",
      "农药残留、兽药残留与真菌毒素高通量定量检测。",
      "High-throughput quantification of pesticide and veterinary-drug residues and mycotoxins."),
    I("qa", "01", "气相色谱-三重四极杆质谱仪", "GC triple quadrupole MS", "Thermo Fisher Scientific",
      "TSQ 9000", "303", "service", True, (0, 250, 100, 350),
      "Ion source: AEI; Mass range: m/z 1.2–1,100; Methods: 200+ pesticide MRM library",
      "有机氯、有机磷等农药多残留检测。",
      "Multi-residue analysis of organochlorine, organophosphorus and other pesticides."),
    I("qa", "01", "原子吸收光谱仪", "Atomic absorption spectrometer", "PerkinElmer", "PinAAcle 900T",
      "305", "service", True, (0, 80, 0, 160),
      "Atomisers: flame and graphite furnace (THGA); Background correction: Zeeman; Lamps: 8 positions",
      "铅、镉、铬、铜等重金属元素测定。",
      "Lead, cadmium, chromium, copper and other heavy metals."),
    I("qa", "01", "原子荧光光度计", "Atomic fluorescence spectrometer", "北京吉天 Beijing Titan", "AFS-9760",
      "306", "service", True, (0, 60, 0, 120),
      "Elements: As, Hg, Se, Sb, Bi, Pb and more; Detection limit: As <0.01 µg/L; Channels: 2",
      "砷、汞、硒等元素的氢化物发生原子荧光测定。",
      "Arsenic, mercury, selenium and other hydride-forming elements."),
    I("qa", "01", "超高效液相色谱仪", "UPLC system", "Waters", "ACQUITY UPLC H-Class",
      "308", "service", True, (0, 120, 0, 120),
      "Pressure: 1,034 bar; Detectors: PDA, FLR; Sample manager: 96-well plates and vials",
      "维生素、添加剂与功能成分液相分析。",
      "Vitamins, additives and functional ingredients by liquid chromatography."),
    I("qa", "01", "气相色谱仪（农残）", "Gas chromatograph for pesticide residues", "Shimadzu", "GC-2030",
      "309", "self", True, (120, 0, 0, 60),
      "Detectors: ECD, FPD; Inlet: split/splitless; Autosampler: AOC-20i Plus",
      "有机氯与有机磷农药快速筛查，经培训后可自主上机。",
      "Fast screening for organochlorine and organophosphorus pesticides by trained users."),
    # --- 临沂市农业科学院 土壤肥料研究室 -----------------------------------------------------------
    I("soil", "01", "连续流动分析仪", "Continuous flow analyser", "SEAL Analytical", "AutoAnalyzer AA3",
      "205", "service", True, (0, 40, 0, 200),
      "Channels: 4 (NO₃-N, NH₄-N, total P, K); Throughput: 60 samples/h",
      "土壤与水样中氮、磷等养分批量测定。",
      "Batch determination of nitrogen, phosphorus and other nutrients in soil and water."),
    I("soil", "01", "全自动凯氏定氮仪", "Automatic Kjeldahl analyser", "FOSS", "Kjeltec 8400",
      "207", "service", True, (0, 50, 0, 150),
      "Range: 0.1–200 mg N; Precision: ±1 % RSD; Capacity: 20 samples per batch with autosampler",
      "肥料、土壤与饲料中全氮及粗蛋白测定。",
      "Total nitrogen and crude protein in fertilisers, soils and feed."),
    I("soil", "01", "电感耦合等离子体发射光谱仪", "ICP optical emission spectrometer", "Agilent", "5110",
      "209", "service", True, (0, 90, 0, 270),
      "View: synchronous vertical dual view; Wavelengths: 167–785 nm; Throughput: ~1 min per sample",
      "土壤、植物与肥料中多元素同时测定。",
      "Simultaneous multi-element analysis of soils, plants and fertilisers."),
    I("soil", "01", "总有机碳分析仪", "Total organic carbon analyser", "Elementar", "vario TOC cube",
      "211", "service", True, (0, 60, 0, 180),
      "Modes: TOC, TIC, TC, TNb; Solids module: yes; Range: 0–60,000 mg/L",
      "土壤有机碳与水体总有机碳测定。",
      "Soil organic carbon and total organic carbon in water."),
    # --- 临沂职业学院 机电工程实训中心 -------------------------------------------------------------
    I("mech", "03", "三坐标测量机", "Coordinate measuring machine", "Hexagon", "GLOBAL S 07.10.07",
      "B101", "self", True, (300, 0, 0, 300),
      "Measuring volume: 700 × 1,000 × 700 mm; MPE_E: 1.5 + L/333 µm; Probe: HH-AS8 with HP-S-X1",
      "精密零部件几何尺寸与形位公差检测。",
      "Dimensions and geometric tolerances of precision parts.", rules="long"),
    I("mech", "03", "激光跟踪仪", "Laser tracker", "Leica", "Absolute Tracker AT960",
      "B103", "service", True, (500, 0, 300, 1000),
      "Range: up to 60 m (diameter 120 m); Accuracy: ±(15 µm + 6 µm/m); 6DoF: T-Probe, T-Scan",
      "大尺寸工件、工装与装配现场测量。",
      "Large parts, fixtures and on-site assembly measurement."),
    I("mech", "02", "显微维氏硬度计", "Micro-Vickers hardness tester", "Buehler", "Wilson VH1202",
      "B105", "self", False, (60, 0, 0, 30),
      "Loads: 10 gf–2 kgf; Turret: 2 indenters, 3 objectives; Software: DiaMet",
      "金属及涂层显微硬度测试。",
      "Micro-hardness of metals and coatings."),
    I("mech", "02", "摆锤冲击试验机", "Pendulum impact tester", "ZwickRoell", "HIT450P",
      "B106", "self", True, (100, 0, 0, 100),
      "Energy: 450 J; Standards: GB/T 229, ISO 148; Low temperature: down to −60 °C",
      "金属材料夏比冲击韧性测试。",
      "Charpy impact toughness of metallic materials."),
    I("mech", "08", "工业CT检测系统", "Industrial CT system", "YXLON", "FF35 CT",
      "B110", "service", True, (800, 0, 300, 1600),
      "Tube: 190 kV directional and 190 kV transmission; Voxel size: down to 0.15 µm; Part size: up to 300 mm",
      "铸件、注塑件内部缺陷无损检测与三维尺寸分析。",
      "Non-destructive inspection of castings and mouldings, 3D dimensional analysis."),
    I("mech", "04", "混合信号示波器", "Mixed-signal oscilloscope", "Tektronix", "MSO64",
      "B201", "self", False, (80, 0, 0, 40),
      "Bandwidth: 2.5 GHz; Sample rate: 25 GS/s; Channels: 4 analogue, 32 digital; Resolution: 12-bit",
      "电子电路调试、电源与高速信号分析。",
      "Circuit debugging, power and high-speed signal analysis."),
    I("mech", "04", "信号与频谱分析仪", "Signal and spectrum analyser", "Keysight", "N9020B MXA",
      "B202", "self", False, (100, 0, 0, 50),
      "Frequency: 10 Hz–26.5 GHz; Analysis bandwidth: 160 MHz; DANL: −171 dBm/Hz",
      "射频器件与无线产品预兼容测试。",
      "RF components and wireless products, pre-compliance testing."),
    # --- 临沂职业学院 食品检测实训中心 -------------------------------------------------------------
    I("food", "02", "质构仪", "Texture analyser", "Stable Micro Systems", "TA.XTplusC",
      "C102", "self", False, (60, 0, 0, 30),
      "Force capacity: 50 kg; Force resolution: 0.1 g; Tests: TPA, puncture, tensile, compression",
      "食品硬度、弹性、咀嚼性等质构特性测试。",
      "Hardness, springiness, chewiness and other texture properties of food."),
    I("food", "01", "近红外分析仪", "Near-infrared analyser", "FOSS", "DS2500",
      "C104", "self", False, (60, 0, 0, 30),
      "Range: 400–2,500 nm; Measurement time: <1 min; Calibrations: grain, feed, meat",
      "谷物、饲料与肉制品水分、蛋白、脂肪快速检测。",
      "Fast moisture, protein and fat in grain, feed and meat products."),
)

FIRMS = (
    # (name, first 17 characters of the credit code, contact, phone, e-mail prefix of the admin, admin name)
    ("临沂沂蒙新材料科技有限公司", "91371302MA3C8K2L5", "赵敏", "0539-8126630", "firm.admin", "赵敏"),
    ("山东琅琊生物医药有限公司", "91371300MA3D1F7H2", "钱宏伟", "0539-8207715", "langya.admin", "钱宏伟"),
    ("临沂兰山精工机械有限公司", "91371302MA3B6N4Q8", "孙强", "0539-8390021", "lanshan.admin", "孙强"),
    ("临沂河东绿源食品有限公司", "91371312MA3E2R9T1", "李娜", "0539-8475596", "lvyuan.admin", "李娜"),
    ("临沂罗庄陶瓷新材料有限公司", "91371311MA3A5W3X7", "周磊", "0539-8561108", "luozhuang.admin", "周磊"),
)

ACADEMIC_ORGS = (
    # (key, name, institution, contact, phone, admin e-mail prefix, admin name)
    ("lyu-chem", "临沂大学 化学化工学院", "lyu", "韩雪", "0539-7258230", "lyu.office", "韩雪"),
    ("laas-ipp", "临沂市农业科学院 植物保护研究所", "laas", "马骏", "0539-8312240", "laas.office", "马骏"),
)

# One login per role (printed at the end) plus the other lab managers.
# (e-mail prefix, name, role, organisation, managed labs)
PEOPLE = (
    ("admin", "平台管理员", "platform admin", None, ()),
    ("manager", "刘建国", "lab manager", None, ("atc", "mat")),
    ("firm.member", "吴晓东", "firm member", "firm:0", ()),
    ("academic", "杨帆", "academic researcher", "org:laas-ipp", ()),
    ("internal", "张伟", "internal researcher", "org:lyu-chem", ()),
    ("bio.manager", "孙丽华", "lab manager", None, ("bio",)),
    ("laas.manager", "王海涛", "lab manager", None, ("qa", "soil")),
    ("lyvc.manager", "陈志强", "lab manager", None, ("mech", "food")),
)

# Who may already operate which self-service instrument: (e-mail prefix, lab, model)
QUALIFICATIONS = (
    ("internal", "atc", "SU8010"),
    ("internal", "atc", "7890B"),
    ("internal", "mat", "Mastersizer 3000"),
    ("firm.member", "atc", "7890B"),
    ("firm.member", "mat", "5982"),
    ("academic", "atc", "Nicolet iS50"),
)

# The logins printed at the end, in this order: (e-mail prefix, role)
LOGINS = (
    ("admin", "platform admin"),
    ("manager", "lab manager (Analysis and Testing Centre, Advanced Materials Platform)"),
    ("firm.admin", "firm org admin (临沂沂蒙新材料科技有限公司)"),
    ("firm.member", "firm member (临沂沂蒙新材料科技有限公司)"),
    ("academic", "academic researcher (临沂市农业科学院)"),
    ("internal", "internal researcher (临沂大学)"),
)


def email(prefix: str) -> str:
    return f"{prefix}@{DEMO_DOMAIN}"


def class_fees(fees_yuan: tuple[int, int, int, int]) -> dict[str, dict[str, int]]:
    """Rate cards for the three customer classes, in fen, from the enterprise fees in yuan."""
    names = ("hourly_rate_fen", "per_sample_fen", "setup_fee_fen", "minimum_charge_fen")
    return {
        customer_class: {
            name: int((Decimal(yuan) * factor).quantize(Decimal(1), rounding=ROUND_HALF_UP)) * 100
            for name, yuan in zip(names, fees_yuan, strict=True)
        }
        for customer_class, factor in CLASS_FACTORS.items()
    }


def instrument_values(item: DemoInstrument) -> dict:
    """The Instrument columns for one demo instrument (without lab and category)."""
    lab = LABS[item.lab]
    return dict(
        name_zh=item.name_zh, name_en=item.name_en, manufacturer=item.manufacturer, model=item.model,
        location=f"{lab[3]} {item.room}", specs="\n".join(s.strip() for s in item.specs.split("; ")),
        description_zh=item.description_zh, description_en=item.description_en, status=item.status,
        booking_mode=item.mode, requires_approval=item.approval, **RULES[item.rules or item.mode],
    )


# ================================ Loader =========================================================


@dataclass
class DemoContext:
    """What the loader built, by natural key, for hooks such as :func:`load_demo_bookings`."""

    now: datetime
    institutions: dict[str, Institution] = field(default_factory=dict)
    labs: dict[str, Lab] = field(default_factory=dict)
    instruments: dict[tuple[str, str], Instrument] = field(default_factory=dict)  # (lab, model)
    organisations: dict[str, Organisation] = field(default_factory=dict)  # "firm:0", "org:lyu-chem"
    users: dict[str, User] = field(default_factory=dict)  # e-mail prefix
    created: dict[str, int] = field(default_factory=dict)
    updated: dict[str, int] = field(default_factory=dict)

    def count(self, kind: str, created: bool) -> None:
        target = self.created if created else self.updated
        target[kind] = target.get(kind, 0) + 1


def _upsert(ctx: DemoContext, model, key: dict, values: dict, on_create: dict | None = None):
    """Find the row by ``key`` or create it (with ``on_create`` too); bring it to ``values``.
    Counts creations and real changes, so a second run reports "Updated: nothing"."""
    values = {name: value for name, value in values.items() if name not in key}
    obj = db.session.scalar(select(model).filter_by(**key))
    if obj is None:
        obj = model(**key, **values, **(on_create or {}))
        db.session.add(obj)
        db.session.flush()
        ctx.count(model.__tablename__, created=True)
        return obj
    changed = False
    for name, value in values.items():
        if getattr(obj, name) != value:
            setattr(obj, name, value)
            changed = True
    if changed:
        ctx.count(model.__tablename__, created=False)
    return obj


def load_demo_data(now: datetime | None = None) -> DemoContext:
    """Create or refresh all demo records in one transaction, then run the hooks."""
    from equipshare.catalogue.services import ensure_categories

    now = now or utcnow()
    ensure_categories()
    begin_write(db.session)
    ctx = DemoContext(now=now)
    categories = {c.code: c for c in db.session.scalars(select(Category))}
    for key, (name_zh, name_en, kind, address, website, description) in INSTITUTIONS.items():
        ctx.institutions[key] = _upsert(ctx, Institution, {"name_zh": name_zh}, dict(
            name_en=name_en, kind=kind, city="临沂", address=address, website=website, description=description))
    for key, (inst, name_zh, name_en, location, contact, phone, description) in LABS.items():
        ctx.labs[key] = _upsert(ctx, Lab, {"institution_id": ctx.institutions[inst].id, "name_zh": name_zh}, dict(
            name_en=name_en, location=location, contact_name=contact, contact_phone=phone,
            contact_email=email(f"lab.{key}"), description=description))
    for item in INSTRUMENTS:
        instrument = _upsert(ctx, Instrument, {"lab_id": ctx.labs[item.lab].id, "model": item.model},
                             dict(category_id=categories[item.category].id, **instrument_values(item)))
        _upsert_rates(ctx, instrument, class_fees(item.fees))
        ctx.instruments[(item.lab, item.model)] = instrument
    _load_people(ctx)
    db.session.commit()
    bookings = load_demo_bookings(ctx, now)
    if bookings:
        ctx.created["bookings"] = bookings
    return ctx


def _upsert_rates(ctx: DemoContext, instrument: Instrument, rates: dict[str, dict[str, int]]) -> None:
    for customer_class, fees in rates.items():
        _upsert(ctx, RateCard, {"instrument_id": instrument.id, "customer_class": customer_class}, fees)


def _load_people(ctx: DemoContext) -> None:
    password_hash = hash_password(DEMO_PASSWORD)  # one hash for every new demo user (scrypt is slow)
    admin = _upsert_user(ctx, "admin", "平台管理员", password_hash, is_platform_admin=True)
    decided = {"decided_at": ctx.now, "decided_by_id": admin.id}

    for i, (name, code17, contact, phone, prefix, admin_name) in enumerate(FIRMS):
        firm = _upsert(ctx, Organisation, {"credit_code": make_valid_code(code17)}, dict(
            name=name, kind=OrgKind.ENTERPRISE, status=OrgStatus.APPROVED, contact_name=contact,
            contact_phone=phone, contact_email=email(prefix)), on_create=decided)
        ctx.organisations[f"firm:{i}"] = firm
        _upsert_user(ctx, prefix, admin_name, password_hash, organisation_id=firm.id, org_role=MemberRole.ADMIN)
    for key, name, inst, contact, phone, prefix, admin_name in ACADEMIC_ORGS:
        academic = _upsert(ctx, Organisation, {"name": name, "kind": OrgKind.ACADEMIC}, dict(
            status=OrgStatus.APPROVED, institution_id=ctx.institutions[inst].id, contact_name=contact,
            contact_phone=phone, contact_email=email(prefix)), on_create=decided)
        ctx.organisations[f"org:{key}"] = academic
        _upsert_user(ctx, prefix, admin_name, password_hash, organisation_id=academic.id,
                     org_role=MemberRole.ADMIN)

    for prefix, name, _role, org_key, labs in PEOPLE:
        if prefix == "admin":
            continue
        org_id = ctx.organisations[org_key].id if org_key else None
        user = _upsert_user(ctx, prefix, name, password_hash, organisation_id=org_id, org_role=MemberRole.MEMBER)
        for lab_key in labs:
            if user not in ctx.labs[lab_key].managers:
                ctx.labs[lab_key].managers.append(user)
                ctx.count("lab_managers", created=True)
    db.session.flush()

    for prefix, lab_key, model in QUALIFICATIONS:
        user, instrument = ctx.users[prefix], ctx.instruments[(lab_key, model)]
        granted_by = ctx.labs[lab_key].managers[0]
        _upsert(ctx, Qualification, {"user_id": user.id, "instrument_id": instrument.id}, {},
                on_create={"granted_by_id": granted_by.id, "granted_at": ctx.now, "note": "Demo data"})


def _upsert_user(ctx: DemoContext, prefix: str, name: str, password_hash: str, **values) -> User:
    values = dict(name=name, active=True, member_status=MemberStatus.ACTIVE, **values)
    user = _upsert(ctx, User, {"email": email(prefix)}, values, on_create={"password_hash": password_hash})
    if user.password_hash != password_hash and not verify_password(user.password_hash, DEMO_PASSWORD):
        user.password_hash = password_hash  # someone changed the demo password: reset it
        user.session_version += 1
        ctx.count("users", created=False)
    ctx.users[prefix] = user
    return user


def load_demo_bookings(ctx: DemoContext, now: datetime) -> int:
    """Bookings, a voucher and last month's statements, made through the real services (so
    every rule, quote, audit event, charge and ledger row is genuine) with ``now`` moved to the
    moment each thing happened. Runs once: if the demo clients already have bookings it does
    nothing, so a second run creates nothing."""
    from equipshare.billing.statements import run_monthly_statements
    from equipshare.billing.vouchers import ProgrammeValues, grant_voucher, save_programme
    from equipshare.booking import services as booking_services

    clients = [ctx.users[p] for p in ("firm.admin", "firm.member", "academic", "internal")]
    if db.session.scalar(select(func.count()).select_from(Booking).where(
            Booking.user_id.in_([u.id for u in clients]))):
        return 0
    admin, manager = ctx.users["admin"], ctx.users["manager"]
    firm = ctx.organisations["firm:0"]
    programme = save_programme(admin, None, ProgrammeValues(
        name="临沂市科技创新券", authority="临沂市科学技术局", share_bp=6000, yearly_cap_fen=50_000_000,
        customer_classes=("enterprise",), instrument_ids=(), valid_from=date(now.year - 1, 1, 1),
        valid_until=date(now.year + 1, 12, 31)), now)
    for year in {now.year, (now - timedelta(days=40)).year}:
        grant_voucher(admin, programme.id, firm.id, year, 20_000_000, "Demo", now)

    # Service instruments of the demo manager's labs: no qualification needed.
    instruments = [i for i in ctx.instruments.values()
                   if i.lab_id in {lab.id for lab in manager.managed_labs} and i.booking_mode == "service"
                   and i.status == "active"][:6]
    created = 0
    # (client index, days from now, status wanted)
    plan = [(0, -38, "completed"), (1, -36, "completed"), (2, -33, "completed"), (0, -12, "completed"),
            (3, -9, "completed"), (1, -6, "no_show"), (0, 5, "approved"), (2, 6, "approved"),
            (1, 7, "pending"), (3, 8, "pending"), (0, 9, "pending"), (2, 12, "cancelled")]
    for n, (who, days, status) in enumerate(plan):
        instrument = instruments[n % len(instruments)]
        user = clients[who]
        start = _demo_slot(instrument, now + timedelta(days=days))
        if start is None:
            continue
        minutes = max(instrument.min_duration_minutes, min(120, instrument.max_duration_minutes))
        requested_at = min(now, start - timedelta(hours=max(instrument.min_notice_hours + 1, 72)))
        if start - requested_at > timedelta(days=instrument.horizon_days):
            continue
        booking = booking_services.request_booking(user, instrument.id, booking_services.BookingRequest(
            start=start, end=start + timedelta(minutes=minutes), purpose=DEMO_PURPOSES[n % len(DEMO_PURPOSES)],
            sample_description="演示样品", sample_count=1 + n % 4), requested_at)
        created += 1
        if status in ("approved", "completed", "no_show") and booking.status == "pending":
            booking_services.decide_bookings(manager, [booking.id], True, None, requested_at + timedelta(hours=2))
        if status == "completed":
            booking_services.record_usage(manager, booking.id, start, start + timedelta(minutes=minutes + 15),
                                          1 + n % 4, start + timedelta(minutes=minutes + 60))
        elif status == "no_show":
            booking_services.mark_no_show(manager, booking.id, start + timedelta(minutes=30))
        elif status == "cancelled":
            booking_services.cancel_booking(user, booking.id, "样品尚未准备好", requested_at + timedelta(hours=1))
    run_monthly_statements(now)
    return created


DEMO_PURPOSES = (
    "镀层钢板样品表面形貌观察（客户投诉分析）",
    "新农药中间体批次纯度检测",
    "陶瓷釉料粉体粒度分布测试",
    "正极材料物相鉴定",
    "再生纤维复合板拉伸强度测试",
    "出口蔬菜农残筛查",
)


def _demo_slot(instrument: Instrument, around: datetime) -> datetime | None:
    """The first open weekday at or after ``around`` (local), an hour after opening, on the grid."""
    from equipshare.booking.rules import open_weekdays
    from equipshare.timeutil import LOCAL_TZ

    days = open_weekdays(instrument)
    local = around.astimezone(LOCAL_TZ)
    for offset in range(8):
        day = (local + timedelta(days=offset)).date()
        if day.isoweekday() in days:
            minute = instrument.open_minute + 60
            minute -= minute % instrument.slot_minutes
            return datetime.combine(day, time(minute // 60, minute % 60), tzinfo=LOCAL_TZ).astimezone(UTC)
    return None


def summary_lines(ctx: DemoContext) -> list[str]:
    created = ", ".join(f"{n} {k}" for k, n in sorted(ctx.created.items())) or "nothing"
    updated = ", ".join(f"{n} {k}" for k, n in sorted(ctx.updated.items())) or "nothing"
    lines = [
        f"Demo data: {len(ctx.institutions)} institutions, {len(ctx.labs)} labs, "
        f"{len(ctx.instruments)} instruments, {len(ctx.organisations)} client organisations.",
        f"Created: {created}. Updated: {updated}.",
        "",
        f"Demo logins (password for all: {DEMO_PASSWORD}):",
    ]
    width = max(len(email(prefix)) for prefix, _ in LOGINS)
    lines += [f"  {email(prefix):<{width}}  {role}" for prefix, role in LOGINS]
    lines.append("Other demo users: the admins of the other firms and organisations and the other lab managers,")
    lines.append(f"all @{DEMO_DOMAIN} with the same password.")
    return lines
