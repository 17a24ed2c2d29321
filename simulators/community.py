"""Generate a whole community as data: a SiteConfig and one DeviceConfig per edge agent.

N homes spread over G grids, grouped into buildings (a stairwell unit with a smoke relay and
the building siren in each), residents with ages, conditions and family contacts, and the
people who respond: a grid worker per grid (each backing up the next grid), the mini fire
station, a duty officer, a supervisor and maintenance. `write_community` writes the
firmware-config layout (`site.yaml` + `devices/*.yaml`) that `protocol.site_config.load_site`
and the hub's registry import read.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

import yaml

from protocol.device_config import DeviceConfig
from protocol.messages import Contact
from protocol.site_config import (
    Building,
    CheckinPlan,
    Grid,
    Household,
    Registry,
    Resident,
    SiteConfig,
    Worker,
    load_site,
)

SURNAMES = [
    ("王", "wang"), ("李", "li"), ("张", "zhang"), ("刘", "liu"), ("陈", "chen"),
    ("杨", "yang"), ("赵", "zhao"), ("黄", "huang"), ("周", "zhou"), ("吴", "wu"),
    ("徐", "xu"), ("孙", "sun"), ("胡", "hu"), ("朱", "zhu"), ("高", "gao"),
    ("林", "lin"), ("何", "he"), ("郭", "guo"), ("马", "ma"), ("罗", "luo"),
]  # fmt: skip
ELDER_NAMES = [
    ("秀英", "xiuying"), ("桂兰", "guilan"), ("玉兰", "yulan"), ("淑芬", "shufen"),
    ("凤英", "fengying"), ("建国", "jianguo"), ("国强", "guoqiang"), ("建华", "jianhua"),
    ("志明", "zhiming"), ("德福", "defu"), ("淑珍", "shuzhen"), ("永福", "yongfu"),
    ("文华", "wenhua"), ("丽华", "lihua"), ("卫东", "weidong"), ("金凤", "jinfeng"),
]  # fmt: skip
YOUNG_NAMES = [
    ("伟", "wei"), ("娜", "na"), ("芳", "fang"), ("敏", "min"), ("静", "jing"), ("磊", "lei"),
    ("洋", "yang"), ("婷", "ting"), ("杰", "jie"), ("涛", "tao"), ("明", "ming"), ("超", "chao"),
]  # fmt: skip
CONDITIONS = [
    "高血压 hypertension", "糖尿病 diabetes", "跌倒史 history of falls", "独居 lives alone",
    "轮椅 wheelchair user", "听力障碍 hearing impaired", "阿尔茨海默病早期 early dementia",
    "心脏病 heart disease", "视力差 poor eyesight", "慢阻肺 COPD",
]  # fmt: skip
RELATIONS = ["儿子 son", "女儿 daughter", "侄子 nephew", "孙女 granddaughter", "邻居 neighbour"]


@dataclass(frozen=True)
class CommunityOptions:
    """How generated devices reach the broker and how fast their timers run."""

    site: str = "sim"
    broker_url: str = "mqtt://127.0.0.1:1883"
    outbox_dir: str = "/var/lib/watchpost"
    homes_per_building: int = 6
    heartbeat_s: float = 30.0
    telemetry_s: float = 60.0
    cancel_window_s: float = 30.0
    smoke_warmup_s: float = 60.0
    accel_rate_hz: float = 50.0
    seed: int = 0


def _phone(rng: random.Random) -> str:
    return f"1{rng.choice('3589')}{rng.randrange(10**9):09d}"


def _resident(rng: random.Random, index: int, household: str) -> Resident:
    """Invent an older resident with conditions and one or two family contacts."""
    (sz, sp), (gz, gp) = rng.choice(SURNAMES), rng.choice(ELDER_NAMES)
    contacts = []
    for _ in range(rng.choice((1, 1, 2))):
        (cz, _), (yz, _) = rng.choice([SURNAMES[0], (sz, sp)]), rng.choice(YOUNG_NAMES)
        contacts.append(Contact(name=cz + yz, phone=_phone(rng), relation=rng.choice(RELATIONS)))
    checkin = None
    if rng.random() < 0.3:
        checkin = CheckinPlan.model_validate({"window_start": "07:00", "window_end": "10:00"})
    return Resident(
        id=f"r-{sp}-{gp}-{index:04d}",
        household=household,
        name=sz + gz,
        age=rng.randint(65, 95),
        conditions=rng.sample(CONDITIONS, rng.choice((0, 1, 1, 2, 3))),
        contacts=contacts,
        checkin=checkin,
    )


def _workers(rng: random.Random, grids: list[str]) -> list[Worker]:
    """A grid worker per grid backing up the next grid, plus the site-wide roles."""
    out = []
    for i, grid in enumerate(grids):
        (sz, sp), (gz, gp) = rng.choice(SURNAMES), rng.choice(YOUNG_NAMES)
        backup = [grids[(i + 1) % len(grids)]] if len(grids) > 1 else []
        out.append(Worker(id=f"w-{grid}-{sp}-{gp}", name=sz + gz, role="grid_worker",
                          phone=_phone(rng), grids=[grid], backup_for=backup))  # fmt: skip
    if len(grids) == 1:
        out.append(Worker(id="w-backup-1", name="后备网格员 / Backup grid worker",
                          role="grid_worker", phone=_phone(rng), backup_for=grids))  # fmt: skip
    roles = [
        ("w-fire-1", "微型消防站值班 / Mini fire station on duty", "fire_station", True),
        ("w-fire-2", "微型消防站队员 / Mini fire station member", "fire_station", False),
        ("w-duty-1", "社区值班员 / Duty officer", "duty_officer", True),
        ("w-sup-1", "街道主管 / Street office supervisor", "supervisor", True),
        ("w-maint-1", "物业维修 / Maintenance", "maintenance", True),
    ]
    out += [Worker(id=i, name=n, role=r, phone=_phone(rng), on_duty=d) for i, n, r, d in roles]
    return out


def _home_device(
    opt: CommunityOptions, grid: str, household: Household, resident: str
) -> DeviceConfig:
    """An SOS/cancel unit with a fall sensor and a kitchen smoke sensor."""
    device = f"home-{household.id}"
    return DeviceConfig.model_validate({
        "device": device, "site": opt.site, "grid": grid, "building": household.building,
        "household": household.id, "resident": resident,
        "location": f"{household.unit} 卧室/厨房 bedroom/kitchen",
        "broker": {"url": opt.broker_url, "username": device},
        "outbox": {"path": f"{opt.outbox_dir}/{device}.db"},
        "timing": {"heartbeat_s": opt.heartbeat_s, "telemetry_s": opt.telemetry_s,
                   "cancel_window_s": opt.cancel_window_s},
        "inputs": {
            "call_button": {"pin": 17, "bounce_ms": 20},
            "cancel_button": {"pin": 27, "bounce_ms": 20},
            "smoke_analog": {"channel": 0, "warmup_s": opt.smoke_warmup_s},
            "accelerometer": {"rate_hz": opt.accel_rate_hz},
        },
        "outputs": {"led": {"pin": 5}, "buzzer": {"pin": 6}},
    })  # fmt: skip


def _stair_device(opt: CommunityOptions, grid: str, building: str) -> DeviceConfig:
    """A stairwell unit: smoke relay and the building siren."""
    device = f"stair-{building}"
    return DeviceConfig.model_validate({
        "device": device, "site": opt.site, "grid": grid, "building": building,
        "location": f"{building} 楼梯间 / stairwell",
        "broker": {"url": opt.broker_url, "username": device},
        "outbox": {"path": f"{opt.outbox_dir}/{device}.db"},
        "timing": {"heartbeat_s": opt.heartbeat_s, "telemetry_s": opt.telemetry_s},
        "inputs": {"smoke_contact": {"pin": 22, "confirm_s": 1.0}},
        "outputs": {"led": {"pin": 5}, "siren": {"pin": 13}},
    })  # fmt: skip


def generate_community(homes: int, grids: int = 1, opt: CommunityOptions | None = None) -> Registry:
    """Return a seeded community of `homes` homes in `grids` grids, with its devices."""
    if homes < 1 or grids < 1:
        raise ValueError("a community needs at least one home and one grid")
    opt = opt or CommunityOptions()
    rng = random.Random(opt.seed)
    grid_ids = [f"grid-{g + 1}" for g in range(grids)]
    buildings: list[Building] = []
    households: list[Household] = []
    residents: list[Resident] = []
    devices: list[DeviceConfig] = []
    per_grid = [list(range(g, homes, grids)) for g in range(grids)]
    for grid, members in zip(grid_ids, per_grid, strict=True):
        for start in range(0, len(members), opt.homes_per_building):
            number = len(buildings) + 1
            building = f"b{number}"
            floors = rng.randint(6, 18)
            address = f"幸福路{number}号楼 / No.{number} Xingfu Rd"
            buildings.append(Building(id=building, grid=grid, floors=floors, address=address))
            devices.append(_stair_device(opt, grid, building))
            for slot, index in enumerate(members[start : start + opt.homes_per_building]):
                floor = 1 + slot * floors // opt.homes_per_building
                unit = f"{floor}{slot % 2 + 1:02d}"
                household = Household(id=f"{building}-{unit}", building=building, floor=floor,
                                      unit=f"{number}-{unit}", key_safe=rng.choice(
                                          ["", "门口密码盒 / key safe by door",
                                           "钥匙在网格员处 / key with grid worker"]))  # fmt: skip
                households.append(household)
                residents.append(_resident(rng, index, household.id))
                devices.append(_home_device(opt, grid, household, residents[-1].id))
    site = SiteConfig(
        site=opt.site, name_zh="幸福里社区", name_en="Xingfuli Community (simulated)",
        grids=[Grid(id=g, name_zh=f"第{i + 1}网格", name_en=f"Grid {i + 1}")
               for i, g in enumerate(grid_ids)],
        buildings=buildings, households=households, residents=residents,
        workers=_workers(rng, grid_ids),
    )  # fmt: skip
    return Registry(site=site, devices=devices)


def home_devices(registry: Registry) -> list[DeviceConfig]:
    """Return the devices of a registry that protect a resident (not stairwell units)."""
    return [d for d in registry.devices if d.resident is not None]


def write_community(registry: Registry, folder: Path) -> Path:
    """Write site.yaml and devices/*.yaml (firmware-config layout); return the folder."""
    (folder / "devices").mkdir(parents=True, exist_ok=True)
    header = "# Generated by simulators.community; edit the generator, not this file.\n"
    site = registry.site.model_dump(mode="json", exclude_defaults=True)
    text = yaml.safe_dump(site, allow_unicode=True, sort_keys=False)
    (folder / "site.yaml").write_text(header + text, encoding="utf-8")
    for device in registry.devices:
        data = device.model_dump(mode="json", exclude_defaults=True)
        text = yaml.safe_dump(data, allow_unicode=True, sort_keys=False)
        (folder / "devices" / f"{device.device}.yaml").write_text(header + text, encoding="utf-8")
    load_site(folder)  # what we wrote must load back
    return folder
