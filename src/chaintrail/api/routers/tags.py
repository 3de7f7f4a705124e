"""/tags: the tags on an address (with provenance), label search, imported sources, and adding a tag."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request

from chaintrail.api.deps import ERRORS, get_wb, json_response
from chaintrail.api.schemas import NewTag, TagList, TagSearch
from chaintrail.api.tagview import tag_dict

router = APIRouter(tags=["tags"], responses=ERRORS)


def _tag_list(wb, address: str) -> dict:
    a = wb.view.addr_num(address)
    if a is not None:
        return {"address": wb.view.address(a), "in_store": True, "items": wb.tags.hits(a, limit=500)}
    # Tags are kept for addresses the store has not seen, too.
    return {"address": address, "in_store": False, "items": [tag_dict(t) for t in wb.tags.tagstore.lookup(address)]}


@router.get("/tags", response_model=TagList, summary="Tags on an address")
async def get_tags(address: str = Query(..., min_length=1, max_length=128), wb=Depends(get_wb)):
    """Its own tags and its entity's definer tags, most severe first, each with source, confidence and provenance."""
    return json_response(_tag_list(wb, address))


@router.get("/tags/search", response_model=TagSearch, summary="Find tags by label")
def search_tags(q: str = Query(..., min_length=2, max_length=100), limit: int = Query(50, ge=1, le=500),
                wb=Depends(get_wb)) -> dict:
    return {"query": q, "items": wb.tags.search_labels(q, limit)}


@router.get("/tags/sources", summary="Imported tag files")
def tag_sources(wb=Depends(get_wb)) -> list[dict]:
    """Each imported file (TagPack, OFAC list, CSV) with its kind, SHA-256 and number of tags."""
    return wb.tags.sources()


@router.post("/tags", response_model=TagList, status_code=201, summary="Add a tag by hand")
def add_tag(tag: NewTag, request: Request, wb=Depends(get_wb)) -> dict:
    """Recorded with the investigator as its origin (and the case, if given); adding the same tag twice changes nothing."""
    wb.tags.tagstore.add_tag(tag.address, tag.label, category=tag.category, source=tag.source,
                             confidence=tag.confidence, is_cluster_definer=tag.is_cluster_definer,
                             case=tag.case, context=tag.context, user="workbench")
    request.app.state.live.tags_changed()
    return _tag_list(wb, tag.address)
