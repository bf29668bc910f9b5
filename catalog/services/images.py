"""Product images: validated by their content (not the name or the declared type) and size, stored under var/."""

from __future__ import annotations

import io
import secrets
from pathlib import Path

import filetype
from PIL import Image, UnidentifiedImageError
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from catalog.models import ProductImage
from catalog.schemas import ImageOut
from catalog.services.products import ProductService, image_url
from shop import audit
from shop.auth import Caller
from shop.errors import InvalidInput, NotFound
from shop.outbox import emit_search

ALLOWED_TYPES = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp"}
MAX_PIXELS = 40_000_000  # refuse decompression bombs


def _trailing_data(content: bytes, mime: str) -> bool:
    """True when bytes follow the image's own end: a polyglot (an image with a page or script appended)."""
    if mime == "image/png":
        end = content.rfind(b"IEND")
        return end < 0 or len(content) > end + 8  # the IEND chunk type, then its 4-byte CRC, then nothing
    if mime == "image/jpeg":
        return not content.rstrip(b"\x00").endswith(b"\xff\xd9")  # end-of-image marker, then only padding
    if mime == "image/webp":
        return len(content) != 8 + int.from_bytes(content[4:8], "little")  # RIFF size covers the whole file
    return True


class ImageService:
    def __init__(self, session: AsyncSession, upload_dir: Path, max_bytes: int) -> None:
        self.session = session
        self.upload_dir = upload_dir
        self.max_bytes = max_bytes

    def _inspect(self, content: bytes) -> tuple[str, int, int]:
        if not content:
            raise InvalidInput("The file is empty.", field="file")
        if len(content) > self.max_bytes:
            raise InvalidInput(f"The image is larger than {self.max_bytes // 1024} KB.", field="file")
        kind = filetype.guess(content)
        if kind is None or kind.mime not in ALLOWED_TYPES:
            raise InvalidInput("Only JPEG, PNG or WebP images are accepted.", field="file")
        if _trailing_data(content, kind.mime):
            raise InvalidInput("The image has extra data after its end; save it again as a plain image.", field="file")
        try:
            with Image.open(io.BytesIO(content)) as img:
                width, height = img.size
                if width * height > MAX_PIXELS:
                    raise InvalidInput("The image has too many pixels.", field="file")
                img.verify()
        except (UnidentifiedImageError, OSError, SyntaxError) as exc:
            raise InvalidInput("The image is damaged or not really an image.", field="file") from exc
        return kind.mime, width, height

    async def upload(self, actor: Caller, product_id: int, content: bytes, alt: str) -> ImageOut:
        product = await ProductService(self.session)._owned(actor, product_id)
        mime, width, height = self._inspect(content)
        filename = f"{product.id}-{secrets.token_hex(8)}.{ALLOWED_TYPES[mime]}"
        self.upload_dir.mkdir(parents=True, exist_ok=True)
        path = self.upload_dir / filename
        path.write_bytes(content)
        try:
            position = int(
                await self.session.scalar(select(func.count()).where(ProductImage.product_id == product.id)) or 0
            )
            image = ProductImage(
                product_id=product.id,
                filename=filename,
                content_type=mime,
                size_bytes=len(content),
                width=width,
                height=height,
                alt=alt[:200],
                position=position,
            )
            self.session.add(image)
            await self.session.flush()
            audit.record(
                self.session,
                actor_id=actor.id,
                action="add_image",
                entity="product",
                entity_id=product.id,
                changes={"filename": filename, "size_bytes": len(content)},
            )
            emit_search(self.session, "product", product.id, "image")
            await self.session.commit()
        except BaseException:
            path.unlink(missing_ok=True)  # no orphan file when the row did not commit
            raise
        return ImageOut(image.id, image_url(filename), mime, len(content), width, height, image.alt)

    async def delete(self, actor: Caller, image_id: int) -> None:
        image = await self.session.get(ProductImage, image_id)
        if image is None:
            raise NotFound(f"Image {image_id} not found.")
        await ProductService(self.session)._owned(actor, image.product_id)
        filename = image.filename
        await self.session.delete(image)
        audit.record(
            self.session,
            actor_id=actor.id,
            action="delete_image",
            entity="product",
            entity_id=image.product_id,
            changes={"filename": filename},
        )
        await self.session.commit()
        (self.upload_dir / filename).unlink(missing_ok=True)

    async def path_for(self, filename: str) -> tuple[Path, str]:
        image = await self.session.scalar(select(ProductImage).where(ProductImage.filename == filename))
        path = self.upload_dir / filename
        if image is None or not path.is_file():
            raise NotFound("Image not found.")
        return path, image.content_type
