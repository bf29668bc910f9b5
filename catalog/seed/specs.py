"""Plain data shapes for the demo catalogue (演示数据), kept apart from the ORM so data modules stay declarative."""

from __future__ import annotations

from dataclasses import dataclass

from catalog.models import BenefitModel, OperatorKind, WorkshopType

FRI_SAT = (4, 5)  # weekdays of homestay nights (0 = Monday)
WEEKEND = (5, 6)


@dataclass(frozen=True, slots=True)
class CountySpec:
    """A county (县/区) with its townships (乡镇/街道) and their villages (村/社区)."""

    name: str
    code: str  # national administrative division code of the county
    city: str
    area_code: str  # telephone area code, used for the public contact numbers
    townships: dict[str, tuple[str, ...]]


@dataclass(frozen=True, slots=True)
class BrandSpec:
    name: str
    slug: str
    description: str
    children: tuple[BrandSpec, ...] = ()


@dataclass(frozen=True, slots=True)
class StewardSpec:
    """红色管家 (§5.2.1): the phone number is derived from the county's area code when loaded."""

    name: str
    work_unit: str
    role: str


@dataclass(frozen=True, slots=True)
class WorkshopSpec:
    code: str  # ascii, the prefix of its SKUs and of its store's name
    name: str
    county: str
    township: str
    village: str
    workshop_type: WorkshopType
    operator_kind: OperatorKind
    operator_name: str
    story: str
    address: str
    benefit_models: tuple[BenefitModel, ...]
    stewards: tuple[StewardSpec, ...]
    # (党建引领力, 组织运行力, 服务支撑力, 共富带动力) for 2025 H1, 2025 H2 and 2026 H1.
    ratings: tuple[tuple[int, int, int, int], ...]
    service_fee_bp: int = 500


@dataclass(frozen=True, slots=True)
class VariantSpec:
    name: str
    price_fen: int
    weight_g: int
    stock: int  # on hand at the workshop's store
    showroom: int = 0  # on hand at the service-centre showroom
    active: bool = True


@dataclass(frozen=True, slots=True)
class ExperienceSpec:
    """A dated offering: one variant per date on the given weekdays (0 = Monday) over the next `weeks` weeks."""

    label: str
    price_fen: int
    capacity: int
    weekdays: tuple[int, ...] = (5,)
    weeks: int = 4


@dataclass(frozen=True, slots=True)
class ProductSpec:
    workshop: str  # workshop code
    code: str  # ascii, unique in the demo; variant SKUs are built from it
    brand: str
    title: str
    subtitle: str
    description: str
    tags: tuple[str, ...]
    variants: tuple[VariantSpec, ...] = ()
    experience: ExperienceSpec | None = None
    shelf_life_days: int | None = None
    sales_count: int = 0


def stars_for(scores: tuple[int, int, int, int]) -> int:
    """Overall stars: the mean of the four dimensions, rounded half up (integers only)."""
    return (sum(scores) * 2 + 4) // 8
