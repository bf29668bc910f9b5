"""CSV import of pickup points (村级服务点) with a report of the rows it rejected and why.

Columns (header row required): code, name, station_code, village_id — or county, township, village by name —
then optional point_kind (service_point / vehicle_stop), address, contact_name, contact_phone, opening_hours,
capacity, is_active. A known code updates that point. Row numbers count the header as row 1, as a spreadsheet does.
Valid rows are saved together; rejected rows change nothing.
"""

from __future__ import annotations

import csv
import io

import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from catalog.models import Region, RegionLevel
from logistics.models import LogisticsNode, NodeKind, PointKind
from logistics.schemas import ImportReport, NodeCreate, NodeUpdate, RejectedRow
from logistics.services.network import NetworkService
from shop.auth import Caller
from shop.errors import DomainError, InvalidInput

MAX_ROWS = 10_000
REQUIRED = {"code", "name", "station_code"}
TRUE = {"1", "true", "yes", "y", "是", ""}
FALSE = {"0", "false", "no", "n", "否"}


def decode(content: bytes) -> str:
    for encoding in ("utf-8-sig", "gb18030"):  # Excel in China saves GBK/GB18030 as often as UTF-8
        try:
            return content.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise InvalidInput("The file is neither UTF-8 nor GB18030 text.", field="file")


class PointImporter:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.network = NetworkService(session)
        self._villages: dict[tuple[str, str, str], int] = {}

    async def _village_by_names(self, county: str, township: str, village: str) -> int | None:
        key = (county, township, village)
        if not self._villages:
            rows = await self.session.execute(select(Region.id, Region.name, Region.parent_id, Region.level))
            regions = {rid: (name, parent, level) for rid, name, parent, level in rows}
            for rid, (name, parent, level) in regions.items():
                if level is RegionLevel.VILLAGE and parent in regions:
                    t_name, c_id, _ = regions[parent]
                    c_name = regions[c_id][0] if c_id in regions else ""
                    self._villages[(c_name, t_name, name)] = rid
        return self._villages.get(key)

    async def run(self, actor: Caller, content: bytes) -> ImportReport:
        reader = csv.DictReader(io.StringIO(decode(content)))
        header = {h.strip() for h in reader.fieldnames or []}
        missing = REQUIRED - header
        if missing:
            raise InvalidInput(f"The header lacks column(s): {', '.join(sorted(missing))}.", field="file")
        if "village_id" not in header and not {"county", "township", "village"} <= header:
            raise InvalidInput("Give village_id, or county, township and village names.", field="file")
        stations = dict(
            (
                await self.session.execute(
                    select(LogisticsNode.code, LogisticsNode.id).where(LogisticsNode.kind == NodeKind.STATION)
                )
            )
            .tuples()
            .all()
        )
        created = updated = 0
        rejected: list[RejectedRow] = []
        seen: set[str] = set()
        for index, raw in enumerate(reader, start=2):
            if index - 1 > MAX_ROWS:
                raise InvalidInput(f"At most {MAX_ROWS} rows per file.", field="file")
            row = {(k or "").strip(): (v or "").strip() for k, v in raw.items() if k}
            if not any(row.values()):
                continue
            try:
                if row["code"] in seen:
                    raise InvalidInput(f"code {row['code']!r} appears twice in the file")
                seen.add(row["code"])
                is_new = await self._row(actor, row, stations)
            except (DomainError, msgspec.ValidationError, ValueError) as exc:
                rejected.append(RejectedRow(index, getattr(exc, "detail", None) or str(exc)))
                continue
            created, updated = created + is_new, updated + (not is_new)
        await self.session.commit()
        return ImportReport(created, updated, rejected)

    async def _row(self, actor: Caller, row: dict[str, str], stations: dict[str, int]) -> bool:
        station_id = stations.get(row["station_code"])
        if station_id is None:
            raise InvalidInput(f"station_code {row['station_code']!r} names no township station")
        if row.get("village_id"):
            if not row["village_id"].isdigit():
                raise InvalidInput("village_id must be a number")
            village_id: int | None = int(row["village_id"])
        else:
            village_id = await self._village_by_names(
                row.get("county", ""), row.get("township", ""), row.get("village", "")
            )
            if village_id is None:
                raise InvalidInput(f"no village {row.get('county')}/{row.get('township')}/{row.get('village')}")
        capacity = row.get("capacity") or "0"
        if not capacity.isdigit():
            raise InvalidInput(f"capacity {capacity!r} is not a whole number")
        active = row.get("is_active", "").lower()
        if active not in TRUE | FALSE:
            raise InvalidInput(f"is_active {active!r} is not yes/no")
        fields = {
            "kind": NodeKind.POINT.value,
            "code": row["code"],
            "name": row["name"],
            "region_id": village_id,
            "parent_id": station_id,
            "point_kind": row.get("point_kind") or PointKind.SERVICE_POINT.value,
            "address": row.get("address", ""),
            "contact_name": row.get("contact_name", ""),
            "contact_phone": row.get("contact_phone") or None,
            "opening_hours": row.get("opening_hours", ""),
            "capacity": int(capacity),
            "is_active": active not in FALSE,
        }
        data = msgspec.convert(fields, NodeCreate)  # the same limits as the API
        await self.network.check_node(data)
        existing = await self.session.scalar(select(LogisticsNode).where(LogisticsNode.code == data.code))
        if existing is None:
            await self.network.create_node(actor, data, commit=False)
            return True
        if existing.kind is not NodeKind.POINT or existing.parent_id != station_id or existing.region_id != village_id:
            raise InvalidInput(f"code {data.code!r} belongs to another node; it cannot move here")
        await self.network.update_node(
            actor,
            existing.id,
            NodeUpdate(
                name=data.name,
                address=data.address,
                contact_name=data.contact_name,
                contact_phone=data.contact_phone,
                opening_hours=data.opening_hours,
                capacity=data.capacity,
                is_active=data.is_active,
            ),
            commit=False,
        )
        return False
