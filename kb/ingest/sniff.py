"""A file's content type, decided from its bytes against an allow-list; the name only has to
agree with them (and may choose between plain text and Markdown).

    sniff_type(path, filename) -> content type, or FileTypeError with a message for the user

Office files are zips: Word, PowerPoint and Excel are told from OpenDocument, and from each
other, by the parts inside ([Content_Types].xml, the `mimetype` entry, word/ ppt/ xl/), read
without unpacking anything large.
"""
from __future__ import annotations

import codecs
import re
import zipfile
from pathlib import Path, PurePath

PDF = "application/pdf"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
PPTX = "application/vnd.openxmlformats-officedocument.presentationml.presentation"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
ODT = "application/vnd.oasis.opendocument.text"
ODP = "application/vnd.oasis.opendocument.presentation"
ODS = "application/vnd.oasis.opendocument.spreadsheet"
RTF = "application/rtf"
TEXT = "text/plain"
MARKDOWN = "text/markdown"
HTML = "text/html"
JPEG = "image/jpeg"
PNG = "image/png"
TIFF = "image/tiff"

ALLOWED_TYPES = {
    PDF: "PDF",
    DOCX: "Word",
    PPTX: "PowerPoint",
    XLSX: "Excel",
    ODT: "OpenDocument text",
    ODP: "OpenDocument presentation",
    ODS: "OpenDocument spreadsheet",
    RTF: "RTF",
    TEXT: "plain text",
    MARKDOWN: "Markdown",
    HTML: "HTML",
    JPEG: "JPEG image",
    PNG: "PNG image",
    TIFF: "TIFF image",
}

EXTENSIONS = {
    PDF: ".pdf", DOCX: ".docx", PPTX: ".pptx", XLSX: ".xlsx", ODT: ".odt", ODP: ".odp",
    ODS: ".ods", RTF: ".rtf", TEXT: ".txt", MARKDOWN: ".md", HTML: ".html", JPEG: ".jpg",
    PNG: ".png", TIFF: ".tif",
}

_TEXTUAL = frozenset({TEXT, MARKDOWN, HTML})
_IMAGES = frozenset({JPEG, PNG, TIFF})
# What each known extension allows the bytes to be. Text files may be any of the text types
# (the bytes decide HTML), image files any image (phones mislabel them all the time), and a
# ".doc" may be the RTF or DOCX that Word happily saves under that name.
_BY_EXTENSION = {
    ".pdf": {PDF},
    ".docx": {DOCX}, ".pptx": {PPTX}, ".xlsx": {XLSX},
    ".odt": {ODT}, ".odp": {ODP}, ".ods": {ODS},
    ".rtf": {RTF}, ".doc": {RTF, DOCX},
    ".txt": _TEXTUAL, ".text": _TEXTUAL, ".csv": _TEXTUAL, ".tsv": _TEXTUAL, ".log": _TEXTUAL,
    ".md": _TEXTUAL, ".markdown": _TEXTUAL, ".html": _TEXTUAL, ".htm": _TEXTUAL,
    ".xhtml": _TEXTUAL,
    ".jpg": _IMAGES, ".jpeg": _IMAGES, ".jpe": _IMAGES, ".jfif": _IMAGES,
    ".png": _IMAGES, ".tif": _IMAGES, ".tiff": _IMAGES,
}
# Extensions of things we never accept, whatever the bytes look like (a text file named
# run.bat is still a script to whoever downloads it).
_REFUSED_EXTENSIONS = frozenset({
    ".exe", ".dll", ".com", ".scr", ".pif", ".msi", ".msp", ".bat", ".cmd", ".ps1", ".psm1",
    ".vbs", ".vbe", ".js", ".jse", ".mjs", ".wsf", ".wsh", ".hta", ".lnk", ".reg", ".jar",
    ".apk", ".app", ".sh", ".bash", ".py", ".pl", ".rb", ".php", ".svg", ".svgz", ".xml",
    ".docm", ".dotm", ".xlsm", ".xltm", ".xlam", ".pptm", ".potm", ".ppsm", ".iso", ".img",
    ".zip", ".rar", ".7z", ".gz", ".tar",
})
_MARKDOWN_EXTENSIONS = frozenset({".md", ".markdown"})

SAMPLE = 64 * 1024
MAX_DIRECTORY_PART = 1024 * 1024  # bytes of [Content_Types].xml / manifest we are willing to read


class FileTypeError(ValueError):
    """The file is not of an accepted type, or its name contradicts its bytes. str() is an
    English sentence (logs, the `kb` command); `reason` ("empty", "refused", "mismatch") with
    `found` and `extension` lets the interface say the same in the reader's language."""

    def __init__(self, message: str, reason: str, found: str = "", extension: str = ""):
        super().__init__(message)
        self.reason, self.found, self.extension = reason, found, extension


def _refused(found: str) -> FileTypeError:
    return FileTypeError(f"This file is not a type the knowledge base accepts (found: {found}).",
                         "refused", found)


def _mismatch(found: str, extension: str) -> FileTypeError:
    return FileTypeError(f"The file's contents ({found}) do not match its extension "
                         f"({extension}).", "mismatch", found, extension)


def sniff_type(path: Path, filename: str) -> str:
    """The allowed content type of the file at path (named `filename` by its sender). Raises
    FileTypeError for other types and for an extension that contradicts the bytes."""
    extension = PurePath(filename or "").suffix.lower()
    if extension and not re.fullmatch(r"\.[a-z0-9]{1,10}", extension):
        extension = ""  # "Report v2.final draft": not an extension
    with open(path, "rb") as handle:
        head = handle.read(SAMPLE)
        size = handle.seek(0, 2)
    if size == 0:
        raise FileTypeError("The file is empty.", "empty")
    content_type, found = _from_bytes(Path(path), head, size)
    if content_type in _TEXTUAL and content_type != HTML and extension in _MARKDOWN_EXTENSIONS:
        content_type = MARKDOWN
    if content_type is None:
        raise _refused(found)  # whatever the name says: what it is, is the useful news
    if extension in _REFUSED_EXTENSIONS or (
            extension in _BY_EXTENSION and content_type not in _BY_EXTENSION[extension]):
        raise _mismatch(ALLOWED_TYPES[content_type], extension)
    return content_type


# --- Bytes ------------------------------------------------------------------------------

# (signature, offset, what it is) for things we refuse, named so the user learns what they sent.
_REFUSED_SIGNATURES = (
    (b"MZ", 0, "Windows executable"),
    (b"\x7fELF", 0, "Linux executable"),
    (b"\xfe\xed\xfa\xce", 0, "macOS executable"), (b"\xfe\xed\xfa\xcf", 0, "macOS executable"),
    (b"\xce\xfa\xed\xfe", 0, "macOS executable"), (b"\xcf\xfa\xed\xfe", 0, "macOS executable"),
    (b"\xca\xfe\xba\xbe", 0, "executable or Java class"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", 0,
     "old-style Microsoft Office file (.doc/.xls/.ppt) or password-protected Office file; "
     "please save it as .docx, .xlsx or .pptx without a password"),
    (b"Rar!\x1a\x07", 0, "RAR archive"), (b"7z\xbc\xaf\x27\x1c", 0, "7-Zip archive"),
    (b"\x1f\x8b\x08", 0, "gzip archive"), (b"1AY&SY", 4, "bzip2 archive"),
    (b"\xfd7zXZ\x00", 0, "xz archive"), (b"\x28\xb5\x2f\xfd", 0, "zstd archive"),
    (b"ustar", 257, "tar archive"),
    (b"GIF87a", 0, "GIF image"), (b"GIF89a", 0, "GIF image"),
    (b"II+\x00", 0, "BigTIFF image"), (b"MM\x00+", 0, "BigTIFF image"),
    (b"\x00\x00\x00\x0cjP  ", 0, "JPEG 2000 image"),
    (b"8BPS", 0, "Photoshop image"),
    (b"%!PS", 0, "PostScript file"), (b"\xc5\xd0\xd3\xc6", 0, "PostScript file"),
    (b"SQLite format 3\x00", 0, "SQLite database"),
    (b"OggS\x00", 0, "audio or video file"), (b"fLaC\x00", 0, "audio file"),
    (b"\x1aE\xdf\xa3", 0, "video file"), (b"FLV\x01", 0, "video file"),
    (b"\x00asm", 0, "WebAssembly program"), (b"dex\n", 0, "Android program"),
    (b"#!", 0, "script"),
    (b"ITSF\x03\x00", 0, "compiled help file"),
)


def _from_bytes(path: Path, head: bytes, size: int) -> tuple[str | None, str]:
    """(allowed content type or None, a name for what was found)."""
    pdf_at = head.find(b"%PDF-", 0, 1024)
    if pdf_at == 0 or (pdf_at > 0 and _as_text(head[:pdf_at], pdf_at) is None):
        return PDF, "PDF"  # readers accept junk before the header, but not prose about PDFs
    if head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06"):
        return _from_zip(path)
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if stripped.startswith(b"{\\rtf"):
        return RTF, "RTF"
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG, "JPEG image"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG, "PNG image"
    if head.startswith(b"II*\x00") or head.startswith(b"MM\x00*"):
        return TIFF, "TIFF image"
    for signature, offset, name in _REFUSED_SIGNATURES:
        if head[offset:offset + len(signature)] == signature:
            return None, name
    if head[:3] == b"ID3" and head[3:4] in (b"\x02", b"\x03", b"\x04"):
        return None, "audio file"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return None, "WebP image"
    if head[:4] == b"RIFF":
        return None, "audio or video file"
    if head[4:8] == b"ftyp":
        return None, "HEIC image or video file" if head[8:12] in (b"heic", b"heix", b"mif1") \
            else "video file"
    text = _as_text(head, size)
    if text is None:
        return None, "unrecognised binary data"
    return _kind_of_text(text)


def _as_text(head: bytes, size: int) -> str | None:
    """The sample decoded, if the bytes are text: a BOM'd UTF-16/32, valid UTF-8, or (without
    NUL bytes) a character set charset-normalizer recognises; with few control characters."""
    complete = len(head) == size
    for bom, encoding in ((codecs.BOM_UTF32_LE, "utf-32-le"), (codecs.BOM_UTF32_BE, "utf-32-be"),
                          (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"),
                          (codecs.BOM_UTF8, "utf-8")):
        if head.startswith(bom):
            text = _decode(head[len(bom):], encoding, complete)
            return text if text is not None and _few_controls(text) else None
    if b"\x00" in head:
        return None
    text = _decode(head, "utf-8", complete)
    if text is None:
        from charset_normalizer import from_bytes

        best = from_bytes(head).best()
        if best is None:
            return None
        text = str(best)
    return text if _few_controls(text) else None


def _decode(data: bytes, encoding: str, complete: bool) -> str | None:
    try:
        return codecs.getincrementaldecoder(encoding)().decode(data, final=complete)
    except UnicodeDecodeError:
        return None


_CONTROLS = re.compile("[\x00-\x08\x0e-\x1a\x1c-\x1f\x7f]")


def _few_controls(text: str) -> bool:
    return len(_CONTROLS.findall(text)) <= max(2, len(text) // 1000)


_MARKUP_START = re.compile(
    r"^(?:\ufeff)?\s*(?:<\?xml[^>]*>\s*)?(?:<!--.*?-->\s*)*"
    r"(?:<!doctype\s+html|<html[\s>]|<head[\s>]|<body[\s>]|<meta[\s>]|<title[\s>])",
    re.IGNORECASE | re.DOTALL)
_XML_START = re.compile(r"^(?:\ufeff)?\s*(?:<\?xml|<!doctype|<svg[\s>]|<[a-zA-Z][\w:.-]*[\s>])",
                        re.IGNORECASE)


def _kind_of_text(text: str) -> tuple[str | None, str]:
    sample = text[:8192]
    if _MARKUP_START.match(sample):
        return HTML, "HTML"
    if _XML_START.match(sample):
        if re.search(r"<svg[\s>]", sample, re.IGNORECASE):
            return None, "SVG image"
        if re.match(r"^(?:\ufeff)?\s*<\?xml", sample):
            return None, "XML file"
    return TEXT, "plain text"


# --- Zips -------------------------------------------------------------------------------

_ODF_TYPES = {
    "application/vnd.oasis.opendocument.text": ODT,
    "application/vnd.oasis.opendocument.presentation": ODP,
    "application/vnd.oasis.opendocument.spreadsheet": ODS,
}
_ODF_OTHERS = {
    "application/vnd.oasis.opendocument.text-template": "OpenDocument template",
    "application/vnd.oasis.opendocument.graphics": "OpenDocument drawing",
    "application/vnd.oasis.opendocument.formula": "OpenDocument formula",
    "application/vnd.oasis.opendocument.database": "OpenDocument database",
}
# Main-part content types of OOXML packages, and the folder the main part must live in.
_OOXML_MAIN = {
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml":
        (DOCX, "word/"),
    "application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml":
        (PPTX, "ppt/"),
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml":
        (XLSX, "xl/"),
}
_OOXML_OTHERS = {
    "application/vnd.ms-word.document.macroEnabled.main+xml": "Word document with macros",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.template.main+xml":
        "Word template",
    "application/vnd.ms-word.template.macroEnabledTemplate.main+xml": "Word template with macros",
    "application/vnd.ms-powerpoint.presentation.macroEnabled.main+xml":
        "PowerPoint presentation with macros",
    "application/vnd.openxmlformats-officedocument.presentationml.slideshow.main+xml":
        "PowerPoint show (.ppsx); please save it as .pptx",
    "application/vnd.openxmlformats-officedocument.presentationml.template.main+xml":
        "PowerPoint template",
    "application/vnd.ms-excel.sheet.macroEnabled.main+xml": "Excel workbook with macros",
    "application/vnd.ms-excel.sheet.binary.macroEnabled.main": "Excel binary workbook",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.template.main+xml":
        "Excel template",
}


def _from_zip(path: Path) -> tuple[str | None, str]:
    try:
        with zipfile.ZipFile(path) as archive:
            names = {info.filename: info for info in archive.infolist()}
            if "mimetype" in names:
                return _odf(archive, names)
            if "[Content_Types].xml" in names:
                return _ooxml(archive, names)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, KeyError):
        return None, "damaged ZIP archive"
    return None, "ZIP archive"


def _read_small(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes | None:
    if info.file_size > MAX_DIRECTORY_PART:
        return None
    return archive.read(info)


def _odf(archive, names) -> tuple[str | None, str]:
    data = _read_small(archive, names["mimetype"])
    declared = (data or b"").decode("ascii", errors="replace").strip()
    if declared in _ODF_TYPES and "content.xml" in names:
        return _ODF_TYPES[declared], ALLOWED_TYPES[_ODF_TYPES[declared]]
    if declared in _ODF_OTHERS:
        return None, _ODF_OTHERS[declared]
    if declared == "application/epub+zip":
        return None, "EPUB e-book"
    return None, "ZIP archive"


def _ooxml(archive, names) -> tuple[str | None, str]:
    from kb.ingest.extract.xmltext import parse_xml

    data = _read_small(archive, names["[Content_Types].xml"])
    if data is None:
        return None, "damaged Office file"
    try:
        root = parse_xml(data)
    except Exception:  # lxml's XMLSyntaxError and friends: not a readable package
        return None, "damaged Office file"
    for override in root:
        if not isinstance(override.tag, str) or not override.tag.endswith("Override"):
            continue
        content_type = (override.get("ContentType") or "").strip()
        part = (override.get("PartName") or "").lstrip("/")
        if content_type in _OOXML_MAIN:
            allowed, folder = _OOXML_MAIN[content_type]
            if part.startswith(folder) and part in names:
                return allowed, ALLOWED_TYPES[allowed]
            return None, "damaged Office file"
        if content_type in _OOXML_OTHERS:
            return None, _OOXML_OTHERS[content_type]
    return _ooxml_by_main_part(archive, names)


# Where the package relationships say the main part is, for writers that declare its type
# only by a Default (not an Override) in [Content_Types].xml.
_MAIN_FOLDERS = {"word/": DOCX, "ppt/": PPTX, "xl/": XLSX}


def _ooxml_by_main_part(archive, names) -> tuple[str | None, str]:
    from kb.ingest.extract.xmltext import parse_xml

    if "visio/document.xml" in names:
        return None, "Visio drawing"
    rels = names.get("_rels/.rels")
    data = _read_small(archive, rels) if rels is not None else None
    try:
        root = parse_xml(data) if data else None
    except Exception:  # an unreadable directory part: not a package we can open
        root = None
    for relationship in root if root is not None else ():
        kind = relationship.get("Type") or ""
        target = (relationship.get("Target") or "").lstrip("/")
        if kind.endswith("/officeDocument") and target in names:
            for folder, content_type in _MAIN_FOLDERS.items():
                if target.startswith(folder) and not target.endswith(".bin"):
                    return content_type, ALLOWED_TYPES[content_type]
    return None, "Office file of another kind"
