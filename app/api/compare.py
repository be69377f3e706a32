"""Comparison of a photo with a specimen, or of two document images."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, File, Form, HTTPException, Response, UploadFile, status
from fastapi.concurrency import run_in_threadpool

from app.api.search import parse_crop
from app.comparisons import ComparisonNotFoundError, comparison_image, run_comparison
from app.core import catalogue
from app.core.models import Role
from app.deps import OfficerDep, ServicesDep, SessionDep, read_upload, require
from vision.imageio import decode_image

router = APIRouter(
    prefix="/compare", tags=["compare"], dependencies=[Depends(require(Role.OFFICER))]
)


@router.post("")
async def compare(
    services: ServicesDep,
    session: SessionDep,
    principal: OfficerDep,
    image_b: Annotated[UploadFile, File(description="the photo or document to examine")],
    image_a: Annotated[UploadFile | None, File(description="the reference image")] = None,
    specimen_id: Annotated[int | None, Form(description="compare with this specimen")] = None,
    mode: Annotated[Literal["stamp", "document"] | None, Form()] = None,
    crop: Annotated[str | None, Form(description="x,y,w,h of the part of B to compare")] = None,
) -> dict[str, object]:
    """Align B onto A (an uploaded image or a specimen's primary image) and compare them."""
    if (image_a is None) == (specimen_id is None):
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT, "give either image_a or specimen_id"
        )
    limits = services.image_limits
    other = decode_image(await read_upload(image_b, limits.max_bytes), limits).rgb
    if specimen_id is not None:
        specimen = catalogue.get_specimen(session, specimen_id)
        reference_bytes = await run_in_threadpool(services.store.get, specimen.image_key)
    else:
        assert image_a is not None
        reference_bytes = await read_upload(image_a, limits.max_bytes)
    reference = decode_image(reference_bytes, limits).rgb
    stored = await run_in_threadpool(
        lambda: run_comparison(
            services.store,
            reference,
            other,
            mode=mode or ("stamp" if specimen_id is not None else "document"),
            box=parse_crop(crop),
            find_stamp=specimen_id is not None,
        )
    )
    services.audit(
        principal.username,
        "compare",
        f"comparison:{stored.id}",
        specimen_id=specimen_id,
        verdict=stored.result["verdict"],
    )
    return {**stored.result, "specimen_id": specimen_id}


@router.get("/{comparison_id}/{name}.jpg", response_class=Response)
def comparison_picture(comparison_id: str, name: str, services: ServicesDep) -> Response:
    try:
        data = comparison_image(services.store, comparison_id, name)
    except ComparisonNotFoundError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc
    return Response(data, media_type="image/jpeg", headers={"Cache-Control": "private"})
