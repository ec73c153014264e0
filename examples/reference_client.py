#!/usr/bin/env python3
"""The AI/ML API documentation's gen3a_turbo client flow, pointed at vidgen.

It submits on the legacy runway route with `ratio` (as the docs' example
does), then polls every POLL_SECONDS until the status is neither queued,
generating nor waiting, exactly like the docs' client. Only the base URL and
key differ, which is the point: vidgen speaks the upstream's contract.
It needs the requests package (pip install requests).

    VIDGEN_URL=http://127.0.0.1:3000 VIDGEN_KEY=vidgen-local-key python3 examples/reference_client.py

Exit status 0 when the generation completed with a video URL.
"""
import json
import os
import sys
import time

try:
    import requests
except ImportError:
    sys.exit("reference_client.py needs the requests package: pip install requests")

BASE_URL = os.environ.get("VIDGEN_URL", "http://127.0.0.1:3000")
KEY = os.environ.get("VIDGEN_KEY", "vidgen-local-key")
POLL_SECONDS = float(os.environ.get("POLL_SECONDS", "10"))
TIMEOUT_SECONDS = float(os.environ.get("TIMEOUT_SECONDS", "600"))
ROUTE = BASE_URL + "/v2/generate/video/runway/generation"
HEADERS = {"Authorization": "Bearer " + KEY, "Content-Type": "application/json"}


def generate_video():
    payload = {
        "model": "gen3a_turbo",
        "prompt": "A menacing evil dragon appears in a distance above the tallest mountain, "
        "then rushes toward the camera with its jaws open, revealing massive fangs.",
        "ratio": "16:9",
        "image_url": "https://upload.wikimedia.org/wikipedia/commons/thumb/6/68/"
        "Liebener_Spitze_SW.JPG/1280px-Liebener_Spitze_SW.JPG",
    }
    response = requests.post(ROUTE, json=payload, headers=HEADERS, timeout=30)
    if response.status_code >= 400:
        print(f"Error: {response.status_code} - {response.text}")
        return None
    data = response.json()
    print("Generation:", data)
    return data


def retrieve_video(gen_id):
    response = requests.get(ROUTE, params={"generation_id": gen_id}, headers=HEADERS, timeout=30)
    return response.json()


def main():
    generation = generate_video()
    gen_id = generation and generation.get("id")
    if not gen_id:
        return 1
    start = time.time()
    while time.time() - start < TIMEOUT_SECONDS:
        data = retrieve_video(gen_id)
        status = data.get("status")
        if status in ("generating", "queued", "waiting"):
            print(f"Still waiting... Checking again in {POLL_SECONDS:g} seconds.")
            time.sleep(POLL_SECONDS)
            continue
        print("Generation complete:", json.dumps(data))
        video = data.get("video") or {}
        return 0 if status == "completed" and video.get("url") else 1
    print("Timeout reached. Stopping.")
    return 1


if __name__ == "__main__":
    sys.exit(main())
