"""Contract tests of the local Twelve Labs' image search (`POST /search` with query_media_type=image), driven by
the official `twelvelabs` SDK 1.3.x: a frame of an indexed video (re-encoded, resized) finds that video first,
an unrelated picture finds nothing, and query images outside the limits are refused."""
from __future__ import annotations

import subprocess
import time

import pytest
from standins.twelvelabs import StandIn, make_scenes, make_video, serve_dir
from twelvelabs import TwelveLabs
from twelvelabs.errors import BadRequestError

pytestmark = pytest.mark.timeout(180)

MODELS = [{"model_name": "marengo3.0", "model_options": ["visual", "audio"]}]


def frame(video: str, at: float, out: str, width: int = 320) -> str:
    """A frame of `video` at `at` s, scaled to `width` px wide and re-encoded (JPEG or PNG by `out`'s suffix)."""
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-ss", f"{at:.2f}", "-i", video, "-frames:v", "1",
                    "-vf", f"scale={width}:-2", "-q:v", "5", out], check=True, capture_output=True)
    return out


def picture(out: str, source: str) -> str:
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i", source, "-frames:v", "1", out],
                   check=True, capture_output=True)
    return out


@pytest.fixture(scope="module")
def media(tmp_path_factory):
    d = tmp_path_factory.mktemp("image-media")
    make_scenes(d / "tour.mp4", [("The boats rest in the harbour.", "HARBOUR", "navy"),
                                 ("Bread at the old market.", "MARKET", "darkorange")])
    make_video(d / "garden.mp4", "The orange cat jumps over the garden fence.", "GARDEN PARTY", seconds=5,
               color="darkgreen")
    make_video(d / "garden_copy.mp4", "The orange cat jumps over the garden fence.", "GARDEN PARTY", seconds=5,
               color="darkgreen")
    q = d / "q"
    q.mkdir()
    frame(str(d / "tour.mp4"), 7.0, str(q / "market.jpg"))
    frame(str(d / "garden.mp4"), 2.5, str(q / "garden.png"), width=480)
    picture(str(q / "unrelated.jpg"), "mandelbrot=size=400x300")
    picture(str(q / "tiny.png"), "testsrc2=size=48x48")
    picture(str(q / "pattern.gif"), "testsrc2=size=320x240")
    # noise does not compress: a PNG well over 5 MB
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i",
                    "nullsrc=s=1800x1400,geq=random(1)*255:random(2)*255:random(3)*255", "-frames:v", "1",
                    "-pix_fmt", "rgb24", str(q / "huge.png")], check=True, capture_output=True)
    assert (q / "huge.png").stat().st_size > 5 * 1024**2
    return d


@pytest.fixture(scope="module")
def standin(tmp_path_factory):
    log = tmp_path_factory.mktemp("tllog") / "standin.log"
    with StandIn("--index-seconds", "1", "--workers", "2", log_path=str(log)) as s:
        yield s


@pytest.fixture(scope="module")
def files(media):
    with serve_dir(media) as base:
        yield base


@pytest.fixture(scope="module")
def client(standin):
    return TwelveLabs(api_key=standin.api_key, base_url=standin.base_url, timeout=60)


@pytest.fixture(scope="module")
def library(client, files):
    idx = client.indexes.create(index_name=f"images-{time.time_ns()}", models=MODELS)
    ids = {client.tasks.create(index_id=idx.id, video_url=f"{files}/{name}.mp4").video_id: name
           for name in ("tour", "garden", "garden_copy")}
    deadline = time.time() + 90
    while len(list(client.indexes.videos.list(idx.id))) < 3:
        assert time.time() < deadline, "videos not indexed in time"
        time.sleep(0.3)
    return idx.id, ids


def search(client, library, path, **kwargs):
    with open(path, "rb") as fh:
        return client.search.create(index_id=library[0], query_media_type="image", query_media_file=fh,
                                    search_options=kwargs.pop("search_options", ["visual"]), **kwargs)


def test_a_resized_jpeg_frame_finds_its_video_first_in_the_right_scene(client, library, media):
    page = search(client, library, media / "q" / "market.jpg")
    names = [library[1][c.video_id] for c in page.data]
    assert names and names[0] == "tour" and set(names) == {"tour"}
    first = page.data[0]
    assert first.rank == 1 and first.start <= 7.0 <= first.end  # the market scene, not the harbour
    assert set(first.model_dump(exclude_none=True)) <= {"video_id", "start", "end", "rank"}


def test_an_unrelated_picture_finds_nothing(client, library, media):
    page = search(client, library, media / "q" / "unrelated.jpg")
    assert page.data == [] and page.page_info.total_results == 0


def test_grouping_and_paging_work_as_for_text(client, library, media):
    grouped = search(client, library, media / "q" / "garden.png", group_by="video")
    assert {library[1][g.id] for g in grouped.data} == {"garden", "garden_copy"}
    assert all(c.video_id == g.id for g in grouped.data for c in g.clips)
    first = search(client, library, media / "q" / "garden.png", page_limit=1)
    assert len(first.data) == 1 and first.page_info.next_page_token
    second = client.search.retrieve(first.page_info.next_page_token)
    assert len(second.data) == 1 and second.data[0].video_id != first.data[0].video_id
    assert second.data[0].rank == 2


def test_query_media_url_is_fetched(client, library, files):
    page = client.search.create(index_id=library[0], query_media_type="image",
                                query_media_url=f"{files}/q/market.jpg", search_options=["visual"])
    assert page.data and library[1][page.data[0].video_id] == "tour"


@pytest.mark.parametrize("name, words", [("tiny.png", "64 px"), ("pattern.gif", "JPEG or PNG"),
                                         ("huge.png", "5 MB")])
def test_pictures_outside_the_limits_are_refused(client, library, media, name, words):
    with pytest.raises(BadRequestError) as err:
        search(client, library, media / "q" / name)
    assert err.value.body["code"] == "parameter_invalid" and words in err.value.body["message"]


def test_image_queries_need_the_visual_option_and_a_picture(client, library, media):
    with pytest.raises(BadRequestError) as err:
        search(client, library, media / "q" / "market.jpg", search_options=["transcription"])
    assert err.value.body["code"] == "search_option_not_supported"
    with pytest.raises(BadRequestError) as err:
        client.search.create(index_id=library[0], query_media_type="image", search_options=["visual"])
    assert err.value.body["code"] == "parameter_not_provided"
