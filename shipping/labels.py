"""Label batches: the labels of shipments from several accounts printed as one file.

A batch is a durable job (kind ``shipping.labels``) with one item per shipment, in the order
the staff member chose. The runner asks each account for its labels with that account's own
token, ``LABEL_BATCH`` shipments per request (``POST /shipment-management/label``, always A6
pages so the labels can be laid out here), and writes every answer to a part file on disk
before marking its items done: a run interrupted between two requests (a worker killed, a 429)
picks up at the first shipment without a part and ends with the same file. Once every item has
its outcome the parts are merged, page by page, into one PDF in the chosen order — one A6 page
per label, or four labels to an A4 sheet (optionally with cut lines and starting at any of the
four positions, to use up a half-used sheet) — or, for ZPL, concatenated into one ``.zpl``.

Files live under ``SHIPPING_LABELS_DIR`` (``var/labels`` by default) as ``<job id>.pdf`` or
``.zpl``, named in the job's ``result``, and are kept ``LABEL_RETENTION_DAYS`` days for
re-printing (older ones are removed when a new batch starts).
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import transaction
from django.db.models import Count
from django.utils import timezone
from django.utils.translation import gettext as _
from pypdf import PageObject, PdfReader, PdfWriter, Transformation
from pypdf.generic import ContentStream

from accounts.models import AllegroAccount, Role
from accounts.services import account_require_role, allegro_client_for
from allegro import errors
from allegro.api import shipments as api
from jobs.models import FINAL_ITEM_STATUSES, ItemStatus, Job, JobItem
from jobs.registry import FINISHED, Step
from jobs.services import (
    ItemSpec,
    job_create,
    job_items_audit_once,
    job_progress_refresh,
)
from orders.selectors import order_ref
from shipping.models import LabelFormat, Shipment, ShipmentStatus

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

    AnyUser = AbstractBaseUser | AnonymousUser

LABELS_KIND = "shipping.labels"
# The spec sets no upper bound on ``shipmentIds``; 100 is the bound Allegro gives every other
# list of shipments (pickup proposals, the parcel-management protocol), so it is used here too.
LABEL_BATCH = 100
LABEL_RETENTION_DAYS = 14
A4 = (595.28, 841.89)
A6 = (297.64, 420.94)
ORDERINGS = ("order_date", "carrier", "deadline")
LAYOUTS = ("a6", "a4")
REPORT_FIELDS = ["WAYBILL", "ORDER_ID", "BUYER_LOGIN", "ITEMS", "DIMS_AND_WEIGHT", "REF_NUMBER"]


def labels_dir() -> Path:
    configured = getattr(settings, "SHIPPING_LABELS_DIR", None)
    return Path(configured) if configured else Path(settings.VAR_DIR) / "labels"


@dataclass(frozen=True, kw_only=True)
class LabelOptions:
    ordering: str = "order_date"
    layout: str = "a6"  # "a6": one label per A6 page; "a4": four per A4 sheet
    cut_lines: bool = False
    start: int = 1  # the first free position on the first A4 sheet (1-4)
    summary: bool = False

    def as_json(self) -> dict[str, Any]:
        return {
            "ordering": self.ordering,
            "layout": self.layout,
            "cut_lines": self.cut_lines,
            "start": self.start,
            "summary": self.summary,
        }

    @classmethod
    def of(cls, data: dict[str, Any]) -> LabelOptions:
        return cls(
            ordering=str(data.get("ordering") or "order_date"),
            layout=str(data.get("layout") or "a6"),
            cut_lines=bool(data.get("cut_lines")),
            start=min(4, max(1, int(data.get("start") or 1))),
            summary=bool(data.get("summary")),
        )


def _sort_key(ordering: str) -> Any:
    def key(s: Shipment) -> tuple[Any, ...]:
        bought = s.order.bought_at.timestamp() if s.order.bought_at else 0.0
        deadline = s.order.dispatch_by.timestamp() if s.order.dispatch_by else 0.0
        if ordering == "carrier":
            return (s.carrier or "", bought, s.pk)
        if ordering == "deadline":
            return (deadline, bought, s.pk)
        return (bought, s.pk)

    return key


def labels_prune(*, now: Any = None) -> int:
    """Remove label files (and leftover parts) older than the retention."""
    root = labels_dir()
    if not root.is_dir():
        return 0
    limit = (now or timezone.now()) - timedelta(days=LABEL_RETENTION_DAYS)
    removed = 0
    for entry in root.iterdir():
        if entry.stat().st_mtime < limit.timestamp():
            if entry.is_dir():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink(missing_ok=True)
            removed += 1
    return removed


class NothingToPrint(Exception):
    """None of the chosen shipments has a label (none created, all cancelled)."""


def labels_batch_start(
    *, user: AnyUser, shipments: Sequence[Shipment], options: LabelOptions
) -> Job:
    """One job printing the labels of ``shipments`` (any accounts the user operates) as one
    file; the shipments whose format differs from the batch's are listed as left out."""
    printable = [s for s in shipments if s.status == ShipmentStatus.CREATED and s.allegro_id]
    if not printable:
        raise NothingToPrint
    accounts = {s.account_id: s.account for s in printable}
    for account in accounts.values():
        account_require_role(user=user, account=account, role=Role.OPERATOR)
    printable.sort(key=_sort_key(options.ordering))
    pdf = sum(1 for s in printable if s.label_format != LabelFormat.ZPL)
    fmt = LabelFormat.PDF if pdf * 2 >= len(printable) else LabelFormat.ZPL
    labels_prune()
    items = []
    left_out = []
    for s in printable:
        spec = ItemSpec(
            account=s.account,
            key=s.allegro_id,
            label=f"{order_ref(s.order.allegro_id)} {s.order.buyer_login}".strip(),
            data={"shipment": s.pk},
        )
        if s.label_format != fmt:
            spec.status = ItemStatus.SKIPPED
            left_out.append(spec.label)
        items.append(spec)
    title = _("Labels of %(count)d shipments") % {"count": len(printable)}
    return job_create(
        kind=LABELS_KIND,
        actor=user,
        account=next(iter(accounts.values())) if len(accounts) == 1 else None,
        title=title,
        items=items,
        params={**options.as_json(), "format": fmt, "left_out": left_out},
    )


# --- running ---------------------------------------------------------------------------------


def _part_dir(job: Job) -> Path:
    return labels_dir() / str(job.pk)


def _write_atomic(path: Path, content: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    with open(tmp, "wb") as handle:
        handle.write(content)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


@dataclass
class FetchStats:
    """Where a batch's time went: waiting for Allegro versus everything else."""

    allegro_seconds: float = 0.0
    requests: dict[int, int] | None = None

    def count(self, account_id: int) -> None:
        if self.requests is None:
            self.requests = {}
        self.requests[account_id] = self.requests.get(account_id, 0) + 1


STATS = FetchStats()


def _page_waybills(reader: PdfReader, batch: list[JobItem], waybills: dict[int, list[str]]) -> Any:
    """Which pages belong to which shipment, by the waybills printed on them (used only when
    the page count does not match the parcel count, e.g. a shipment cancelled meanwhile)."""
    pages: dict[int, list[int]] = {item.pk: [] for item in batch}
    for index, page in enumerate(reader.pages):
        text = page.extract_text() or ""
        for item in batch:
            if any(w and w in text for w in waybills.get(item.pk, [])):
                pages[item.pk].append(index)
                break
    return pages


def _fetch(job: Job, client: Any, account: AllegroAccount, batch: list[JobItem]) -> None:
    """One label request for ``batch`` (one account): the answer is written to a part file,
    then each item records its pages in it, in one go."""
    options = LabelOptions.of(job.params)
    fmt = str(job.params.get("format") or "PDF")
    shipment_ids = [item.key for item in batch]
    kwargs: dict[str, Any] = {}
    if fmt == LabelFormat.PDF:
        kwargs["page_size"] = "A6"
    started = time.perf_counter()
    STATS.count(account.pk)
    try:
        if options.summary and fmt == LabelFormat.PDF:
            doc = _get_label_with_report(client, shipment_ids)
        else:
            doc = api.get_label(client, shipment_ids=shipment_ids, **kwargs)
    finally:
        STATS.allegro_seconds += time.perf_counter() - started
    if not doc.available:
        _fail(batch, _("Allegro has no label for it."), doc.trace_id or "")
        return
    name = f"part-{batch[0].position:05d}.{fmt.lower()}"
    _write_atomic(_part_dir(job) / name, doc.content)
    shipment_pks = [int(item.data["shipment"]) for item in batch]
    counts = dict(
        Shipment.objects.filter(pk__in=shipment_pks)
        .annotate(n=Count("packages"))
        .values_list("pk", "n")
    )
    per_item = [max(1, counts.get(int(item.data["shipment"]), 1)) for item in batch]
    if fmt == LabelFormat.PDF:
        reader = PdfReader(_part_dir(job) / name)
        total = len(reader.pages)
        labels = sum(per_item)
        mapping: dict[int, list[int]]
        if total == labels or (options.summary and total > labels):
            mapping, first = {}, 0
            for item, count in zip(batch, per_item, strict=True):
                mapping[item.pk] = list(range(first, first + count))
                first += count
            report = list(range(labels, total))
        else:
            waybills = {
                item.pk: list(
                    Shipment.objects.get(pk=item.data["shipment"]).packages.values_list(
                        "waybill", flat=True
                    )
                )
                for item in batch
            }
            mapping, report = _page_waybills(reader, batch, waybills), []
    else:
        mapping, report = {item.pk: [] for item in batch}, []
    now = timezone.now()
    trace_id = (doc.trace_id or "")[:128]
    outcomes: dict[str, list[int]] = {ItemStatus.SUCCESS: [], ItemStatus.FAILED: []}
    for index, item in enumerate(batch):
        pages = mapping.get(item.pk, [])
        found = bool(pages) or fmt != LabelFormat.PDF
        outcomes[ItemStatus.SUCCESS if found else ItemStatus.FAILED].append(item.pk)
        item.data = {**item.data, "part": name, "pages": pages}
        if index == len(batch) - 1:
            item.data["report"] = report
    # The batch's outcomes in three statements (each item's pages, then the status of the
    # found and of the missing ones) together with the audit entry: a run killed here finds
    # the part on disk and either all of these items done or none.
    with transaction.atomic():
        JobItem.objects.bulk_update(batch, ["data"], batch_size=LABEL_BATCH)
        for status, pks in outcomes.items():
            if pks:
                missing = status == ItemStatus.FAILED
                JobItem.objects.filter(pk__in=pks).update(
                    status=status,
                    trace_id=trace_id,
                    message=_("Allegro has no label for it.") if missing else "",
                    updated_at=now,
                )
        job_items_audit_once(
            items=batch,
            actor=job.actor,
            action="shipment.labels_printed",
            target=f"job:{job.pk}",
            before=None,
            after={"shipments": shipment_ids, "format": fmt},
            trace_id=doc.trace_id or None,
        )


def _fail(batch: list[JobItem], message: str, trace_id: str) -> None:
    """The same failure for every item of a label request, in one statement."""
    JobItem.objects.filter(pk__in=[item.pk for item in batch]).update(
        status=ItemStatus.FAILED,
        message=message[:2000],
        trace_id=trace_id[:128],
        updated_at=timezone.now(),
    )


def _get_label_with_report(client: Any, shipment_ids: list[str]) -> api.Document:
    """``get_label`` with Allegro's summary report placed after the labels."""
    from allegro.transport import OCTET_STREAM, V1

    payload = {
        "shipmentIds": shipment_ids,
        "pageSize": "A6",
        "summaryReport": {"placement": "LAST", "fields": REPORT_FIELDS},
    }
    response = client.request(
        "POST",
        f"{api.BASE}/label",
        json=payload,
        media=V1,
        accept=OCTET_STREAM,
        ok=(200, 204),
        idempotent=True,
    )
    return api.Document(
        content=response.content if response.status == 200 else b"",
        available=response.status == 200,
        trace_id=response.trace_id,
    )


def _batches(job: Job) -> Iterator[tuple[AllegroAccount, list[JobItem]]]:
    """Pending items per account (in the chosen order), ``LABEL_BATCH`` at a time."""
    pending = list(
        job.items.exclude(status__in=FINAL_ITEM_STATUSES)
        .select_related("account")
        .order_by("position", "pk")
    )
    by_account: dict[int, list[JobItem]] = {}
    for item in pending:
        by_account.setdefault(item.account_id, []).append(item)
    for items in by_account.values():
        for start in range(0, len(items), LABEL_BATCH):
            yield items[0].account, items[start : start + LABEL_BATCH]


def labels_step(job: Job) -> Step:
    """The ``shipping.labels`` runner: fetch what is missing, then build the file."""
    clients: dict[int, Any] = {}
    for account, batch in _batches(job):
        if account.pk not in clients:
            clients[account.pk] = allegro_client_for(account=account)
        try:
            _fetch(job, clients[account.pk], account, batch)
        except errors.TransientError:
            job_progress_refresh(job=job)
            raise
        except errors.PermanentError as exc:
            message = " ".join(e.user_message or e.message or e.code for e in exc.errors) or str(
                exc
            )
            _fail(batch, message, exc.trace_id or "")
    labels_build(job=job)
    job_progress_refresh(job=job)
    return FINISHED


# --- the merged file ---------------------------------------------------------------------------


def _cut_lines() -> PageObject:
    width, height = A4
    page = PageObject.create_blank_page(width=width, height=height)
    stream = ContentStream(None, None)
    x, y = width / 2, height / 2
    stream.set_data(
        f"q 0.6 G 0.5 w [6 4] 0 d {x:.2f} 0 m {x:.2f} {height:.2f} l S "
        f"0 {y:.2f} m {width:.2f} {y:.2f} l S Q".encode()
    )
    page.replace_contents(stream)
    return page


# positions 1-4: top left, top right, bottom left, bottom right (lower-left corners)
SLOTS = ((0.0, A4[1] / 2), (A4[0] / 2, A4[1] / 2), (0.0, 0.0), (A4[0] / 2, 0.0))


def _place(sheet: PageObject, page: PageObject, slot: int) -> None:
    box = page.mediabox
    width, height = float(box.width), float(box.height)
    scale = min(A4[0] / 2 / width, A4[1] / 2 / height)
    x, y = SLOTS[slot]
    transform = (
        Transformation()
        .translate(-float(box.left), -float(box.bottom))
        .scale(scale, scale)
        .translate(x, y)
    )
    sheet.merge_transformed_page(page, transform)


def labels_build(*, job: Job) -> Path | None:
    """Merge the parts into ``<job id>.pdf`` (or ``.zpl``), mark the labels printed and note
    the file in the job's result."""
    options = LabelOptions.of(job.params)
    fmt = str(job.params.get("format") or "PDF")
    done = list(job.items.filter(status=ItemStatus.SUCCESS).order_by("position", "pk"))
    parts = _part_dir(job)
    target = labels_dir() / f"{job.pk}.{fmt.lower()}"
    if done and target.is_file() and (job.result or {}).get("file"):
        return target  # built by a run that stopped before closing the job
    pages = 0
    if done:
        if fmt == LabelFormat.ZPL:
            seen: list[str] = []
            for item in done:
                if item.data["part"] not in seen:
                    seen.append(item.data["part"])
            tmp = target.with_suffix(".tmp")
            with open(tmp, "wb") as out:
                for name in seen:
                    with open(parts / name, "rb") as source:
                        shutil.copyfileobj(source, out)
            os.replace(tmp, target)
        else:
            pages = _merge_pdf(done, parts, target, options)
        now = timezone.now()
        Shipment.objects.filter(pk__in=[int(i.data["shipment"]) for i in done]).update(
            label_printed_at=now
        )
    result = {
        "file": str(target.relative_to(labels_dir())) if done else "",
        "format": fmt,
        "pages": pages,
        "labels": len(done),
        "left_out": list(job.params.get("left_out") or []),
    }
    Job.objects.filter(pk=job.pk).update(result=result)
    job.result = result
    if done and not _keep_parts():
        shutil.rmtree(parts, ignore_errors=True)
    return target if done else None


def _keep_parts() -> bool:
    return bool(getattr(settings, "SHIPPING_LABELS_KEEP_PARTS", False))


def _merge_pdf(done: list[JobItem], parts: Path, target: Path, options: LabelOptions) -> int:
    """Stream the label pages from the part files into one writer, a reader open per part only
    while its pages are needed (parts are visited in the chosen order, opened lazily)."""
    writer = PdfWriter()
    readers: dict[str, PdfReader] = {}
    report_pages: list[tuple[str, int]] = []
    sheet: PageObject | None = None
    slot = options.start - 1
    cut = _cut_lines() if options.cut_lines else None

    def reader_for(name: str) -> PdfReader:
        if name not in readers:
            if len(readers) >= 4:  # a few parts open at a time, never the whole batch
                readers.pop(next(iter(readers)))
            readers[name] = PdfReader(parts / name)
        return readers[name]

    def new_sheet() -> PageObject:
        page = writer.add_blank_page(width=A4[0], height=A4[1])
        if cut is not None:
            page.merge_page(cut)
        return page

    for item in done:
        name = str(item.data["part"])
        for index in item.data.get("pages") or []:
            page = reader_for(name).pages[int(index)]
            if options.layout == "a4":
                if sheet is None or slot >= 4:
                    sheet, slot = new_sheet(), (slot if sheet is None else 0)
                _place(sheet, page, slot)
                slot += 1
            else:
                writer.add_page(page)
        report_pages.extend((name, int(i)) for i in item.data.get("report") or [])
    for name, index in report_pages:
        writer.add_page(reader_for(name).pages[index])
    tmp = target.with_suffix(".tmp")
    target.parent.mkdir(parents=True, exist_ok=True)
    writer.add_metadata({"/Title": _("Shipping labels"), "/Producer": "allegro-backoffice"})
    with open(tmp, "wb") as out:
        writer.write(out)
    os.replace(tmp, target)
    return len(writer.pages)


def labels_file(*, job: Job) -> Path | None:
    name = str((job.result or {}).get("file") or "")
    if not name or "/" in name or name.startswith("."):
        return None
    path = labels_dir() / name
    return path if path.is_file() else None
