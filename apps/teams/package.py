"""Build the Teams app package (a zip of manifest.json and the two icons) for a tenant admin.

Usage: python apps/teams/package.py --app-id <Microsoft App ID> --website https://... \
           --privacy https://... --terms https://... [--out helpdesk-teams.zip]

Only the standard library: run it with any Python 3. The manifest's `${{NAME}}` placeholders
(the Teams Toolkit convention) are replaced; anything left unreplaced is an error.
"""
from __future__ import annotations

import argparse
import json
import re
import sys
import uuid
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
PLACEHOLDER = re.compile(r"\$\{\{([A-Z_]+)\}\}")


def render(values: dict[str, str]) -> dict:
    """manifest.json with every placeholder replaced; raises on a missing or invalid value."""
    app_id = values.get("TEAMS_APP_ID", "")
    if str(uuid.UUID(app_id)) != app_id.lower():  # raises ValueError for a non-GUID
        raise ValueError("the app id must be a GUID")
    for name in ("HELPDESK_WEBSITE_URL", "HELPDESK_PRIVACY_URL", "HELPDESK_TERMS_URL"):
        if not values.get(name, "").startswith("https://"):
            raise ValueError(f"{name} must be an https URL")
    text = (HERE / "manifest.json").read_text(encoding="utf-8")
    missing = sorted(set(PLACEHOLDER.findall(text)) - set(values))
    if missing:
        raise ValueError(f"no value for {', '.join(missing)}")
    return json.loads(PLACEHOLDER.sub(lambda m: values[m.group(1)], text))


def package(values: dict[str, str], out: Path) -> Path:
    manifest = render(values)
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("manifest.json", json.dumps(manifest, indent=2))
        for icon in ("color.png", "outline.png"):
            archive.write(HERE / icon, icon)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--app-id", required=True, help="the Azure Bot's Microsoft App ID")
    parser.add_argument("--website", required=True)
    parser.add_argument("--privacy", required=True)
    parser.add_argument("--terms", required=True)
    parser.add_argument("--out", default="helpdesk-teams.zip")
    args = parser.parse_args()
    try:
        out = package({"TEAMS_APP_ID": args.app_id.lower(), "HELPDESK_WEBSITE_URL": args.website,
                       "HELPDESK_PRIVACY_URL": args.privacy, "HELPDESK_TERMS_URL": args.terms},
                      Path(args.out))
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"wrote {out}: upload it in the Teams admin centre (Manage apps > Upload new app)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
