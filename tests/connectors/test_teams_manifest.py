"""The Teams app package a tenant admin uploads: manifest fields, icons, packaging script."""
from __future__ import annotations

import importlib.util
import io
import json
import re
import zipfile
from pathlib import Path

import pytest
from PIL import Image

from connectors.teams import CHANNEL

from . import fakes

APP = Path(__file__).resolve().parents[2] / "apps" / "teams"
VALUES = {"TEAMS_APP_ID": fakes.APP_ID, "HELPDESK_WEBSITE_URL": "https://intranet.example/hd",
          "HELPDESK_PRIVACY_URL": "https://intranet.example/privacy",
          "HELPDESK_TERMS_URL": "https://intranet.example/terms"}


def packaging():
    spec = importlib.util.spec_from_file_location("teams_package", APP / "package.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_package_holds_the_manifest_and_both_icons(tmp_path: Path) -> None:
    out = packaging().package(VALUES, tmp_path / "app.zip")
    with zipfile.ZipFile(out) as archive:
        assert sorted(archive.namelist()) == ["color.png", "manifest.json", "outline.png"]
        manifest = json.loads(archive.read("manifest.json"))
        color = Image.open(io.BytesIO(archive.read("color.png")))
        outline = Image.open(io.BytesIO(archive.read("outline.png")))
    assert manifest["id"] == manifest["bots"][0]["botId"] == fakes.APP_ID
    assert manifest["icons"] == {"color": "color.png", "outline": "outline.png"}
    assert color.size == (192, 192)
    assert outline.size == (32, 32)


def test_the_manifest_follows_the_1_17_schema_rules() -> None:
    manifest = packaging().render(VALUES)
    assert manifest["manifestVersion"] == "1.17"
    assert "/teams/v1.17/" in manifest["$schema"]
    assert re.fullmatch(r"\d+\.\d+\.\d+", manifest["version"])
    assert len(manifest["name"]["short"]) <= 30 and len(manifest["name"]["full"]) <= 100
    assert len(manifest["description"]["short"]) <= 80
    assert len(manifest["description"]["full"]) <= 4000
    assert re.fullmatch(r"#[0-9A-Fa-f]{6}", manifest["accentColor"])
    assert all(manifest["developer"][k].startswith("https://")
               for k in ("websiteUrl", "privacyUrl", "termsOfUseUrl"))
    for command in manifest["bots"][0]["commandLists"][0]["commands"]:
        assert len(command["title"]) <= 32 and len(command["description"]) <= 128


def test_the_bot_lives_in_personal_chats_only() -> None:
    """The channel answers group chats with a pointer only; the app does not offer them."""
    [bot] = packaging().render(VALUES)["bots"]
    assert bot["scopes"] == ["personal"]
    assert bot["commandLists"][0]["scopes"] == ["personal"]
    assert bot["supportsFiles"] is False and bot["isNotificationOnly"] is False
    assert CHANNEL == "msteams"


def test_the_outline_icon_is_white_on_transparent() -> None:
    outline = Image.open(APP / "outline.png").convert("RGBA")
    pixels = [outline.getpixel((x, y)) for x in range(32) for y in range(32)]
    assert {p for p in pixels if p[3] != 0} <= {(255, 255, 255, 255)}
    assert any(p[3] == 0 for p in pixels) and any(p[3] == 255 for p in pixels)


def test_the_colour_icon_is_opaque() -> None:
    color = Image.open(APP / "color.png").convert("RGBA")
    assert all(color.getpixel((x, y))[3] == 255 for x in range(0, 192, 7) for y in range(0, 192, 7))


@pytest.mark.parametrize("change", [{"TEAMS_APP_ID": "my-bot"}, {"TEAMS_APP_ID": ""},
                                    {"HELPDESK_PRIVACY_URL": "http://intranet.example/privacy"}])
def test_bad_values_are_refused(change: dict) -> None:
    with pytest.raises(ValueError):
        packaging().render({**VALUES, **change})


def test_every_placeholder_is_known() -> None:
    text = (APP / "manifest.json").read_text()
    assert set(re.findall(r"\$\{\{([A-Z_]+)\}\}", text)) == set(VALUES)
