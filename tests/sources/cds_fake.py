"""A fake of the CDS retrieve API (OGC-Processes style, as documented for the 2024
CDS) for replay tests; the download it serves is the real new-layout ERA5 zip."""

from __future__ import annotations

import json

import httpx

from tests.sources.helpers import DATA

ZIP = (DATA / "era5" / "new_layout" / "era5_2022-08-31_rhine.zip").read_bytes()
API = "http://cds.test/api"
JOB = "3f1c2a4e-8b7d-4c61-9d2e-5a0b9c8e7f61"
TOKEN = "abcd1234-0000-1111-2222-333344445555"


class FakeCds:
    """The CDS retrieve API as documented; statuses advance on each poll."""

    def __init__(self, statuses: list[str], download: bytes = ZIP,
                 download_base: str = "http://cds.test") -> None:
        self.download_base = download_base
        self.statuses = list(statuses)
        self.download = download
        self.calls: list[tuple[str, str]] = []
        self.submitted: dict | None = None  # type: ignore[type-arg]

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        self.calls.append((request.method, path))
        if path.startswith("/api/") and request.headers.get("PRIVATE-TOKEN") != TOKEN:
            return httpx.Response(401, json={"type": "about:blank", "title": "Unauthorized",
                                             "detail": "authentication failed"})
        if request.method == "POST" and path.endswith(
                "/processes/reanalysis-era5-single-levels/execution"):
            self.submitted = json.loads(request.content)
            return httpx.Response(201, json={
                "processID": "reanalysis-era5-single-levels", "type": "process",
                "jobID": JOB, "status": "accepted", "created": "2026-11-24T03:30:00.000000",
                "updated": "2026-11-24T03:30:00.000000",
                "links": [{"href": f"{API}/retrieve/v1/jobs/{JOB}", "rel": "monitor",
                           "type": "application/json", "title": "job status info"}]})
        if request.method == "DELETE" and path == f"/api/retrieve/v1/jobs/{JOB}":
            return httpx.Response(200, json={"jobID": JOB, "status": "dismissed"})
        if request.method == "GET" and path == f"/api/retrieve/v1/jobs/{JOB}":
            status = self.statuses.pop(0) if len(self.statuses) > 1 else self.statuses[0]
            return httpx.Response(200, json={"processID": "reanalysis-era5-single-levels",
                                             "type": "process", "jobID": JOB,
                                             "status": status})
        if request.method == "GET" and path == f"/api/retrieve/v1/jobs/{JOB}/results":
            if self.statuses[0] == "failed":
                return httpx.Response(400, json={
                    "type": "https://cds.climate.copernicus.eu/errors/job-results-failed",
                    "title": "job failed",
                    "detail": "the request you have submitted is not valid: no data for area"})
            return httpx.Response(200, json={"asset": {"value": {
                "type": "application/zip", "href": f"{self.download_base}/download/{JOB}.zip",
                "file:size": len(ZIP), "file:checksum": "md5:unused"}}})
        if path == f"/download/{JOB}.zip":
            return httpx.Response(200, content=self.download,
                                  headers={"Content-Length": str(len(ZIP))})
        return httpx.Response(404, json={"title": "not found", "detail": path})
