"""The cluster's images, `/system/images` and `/system/image-tags`: what `faas push` sends,
for watchdogs on hosts that do not have an image (faas.images)."""

from __future__ import annotations

import asyncio
import tempfile
from typing import IO, Any, cast

from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response

from faas.errors import Error
from faas.images import ImageConfig, ImageNotStored, check_image_id
from gateway.errors import BadRequest, BodyTooLarge
from gateway.routes.common import json_body, services

MAX_IMAGE = 16 * 2**30  # bytes of one image's root filesystem
CONFIG_HEADER = "x-image-config"


async def list_images(request: Request) -> Response:
    stored = await services(request).images.stored()
    return JSONResponse([s.to_json() for s in stored])


async def get_image(request: Request) -> Response:
    image_id = _image_id(request)
    found = await services(request).images.info(image_id)
    if found is None:
        raise ImageNotStored(image_id)
    return JSONResponse(found.to_json())


async def put_image(request: Request) -> Response:
    """Store the body, a tar of the image's root filesystem, under its id: 201; 200 when
    the cluster has it already (the body is then not read)."""
    image_id = _image_id(request)
    bank = services(request).images
    config = _config(request, image_id)
    found = await bank.info(image_id)
    if found is not None:
        return JSONResponse(found.to_json())
    with tempfile.TemporaryFile() as spool:
        await _spool(request, spool)
        await asyncio.to_thread(spool.seek, 0)
        stored = await bank.put(config, cast(Any, spool))
    return JSONResponse(stored.to_json(), status_code=201)


async def put_tag(request: Request) -> Response:
    """Point a tag at a stored image: `{"imageId": ...}`; the answer names the image the tag
    named before if it was deleted because no tag names it any more."""
    tag = request.path_params["tag"]
    body = await json_body(request)
    if not isinstance(body, dict) or not isinstance(body.get("imageId"), str):
        raise BadRequest('the body must be a JSON object with "imageId"')
    image_id = _checked(body["imageId"])
    deleted = await services(request).images.tag(tag, image_id)
    return JSONResponse({"tag": tag, "imageId": image_id, "deleted": deleted})


def _image_id(request: Request) -> str:
    return _checked(request.path_params["image_id"])


def _checked(image_id: str) -> str:
    try:
        return check_image_id(image_id)
    except Error as exc:
        raise BadRequest(str(exc)) from None


def _config(request: Request, image_id: str) -> ImageConfig:
    text = request.headers.get(CONFIG_HEADER)
    if text is None:
        raise BadRequest("the image's config is missing: send it as JSON in X-Image-Config")
    try:
        config = ImageConfig.from_json(text)
    except Error as exc:
        raise BadRequest(f"X-Image-Config: {exc}") from None
    if config.image_id != image_id:
        raise BadRequest(f"X-Image-Config is of image {config.image_id}, not {image_id}")
    return config


async def _spool(request: Request, spool: IO[bytes]) -> None:
    """Write the body to `spool`, within MAX_IMAGE."""
    written = 0
    try:
        async for chunk in request.stream():
            written += len(chunk)
            if written > MAX_IMAGE:
                raise BodyTooLarge(MAX_IMAGE)
            await asyncio.to_thread(spool.write, chunk)
    except ClientDisconnect:
        raise BadRequest("the client went away before the image was sent") from None
    if written == 0:
        raise BadRequest("the body is empty: send the tar of the image's root filesystem")
