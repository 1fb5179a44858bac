"""The Python SDK's record calls against a live ``baas serve`` and the real PocketBase 0.40.6:
CRUD, lists and paging, filters with bound values, expand/fields, modifiers, files, batch, errors."""

from __future__ import annotations

import io
from typing import Any

import httpx
import pytest
from baas_client import AsyncClient, Client, ClientError

from tests.sdk_python.kit import (
    Backend,
    png_bytes,
)


@pytest.fixture(scope="module")
def posts_seeded(srv: Backend) -> list[str]:
    """Seven posts (views 0..6) by one user; answers their ids."""
    pb = srv.admin()
    ids = [pb.collection("posts").create({"title": f"seed {i}", "views": i, "tags": ["a"]})["id"] for i in range(7)]
    pb.close()
    return ids


def test_crud_and_modifiers(srv: Backend) -> None:
    with Client(srv.url) as pb:
        posts = pb.collection("posts")
        rec = posts.create({"title": "hello", "views": 1, "tags": ["a"]})
        assert rec["title"] == "hello" and rec["collectionName"] == "posts" and rec["views"] == 1
        assert posts.get_one(rec["id"])["id"] == rec["id"]
        rec = posts.update(rec["id"], {"views+": 5, "tags+": ["b"]})
        assert rec["views"] == 6 and rec["tags"] == ["a", "b"]
        rec = posts.update(rec["id"], {"views-": 2, "tags-": ["a"]})
        assert rec["views"] == 4 and rec["tags"] == ["b"]
        assert posts.get_one(rec["id"], fields="id,title") == {"id": rec["id"], "title": "hello"}
        posts.delete(rec["id"])
        with pytest.raises(ClientError) as err:
            posts.get_one(rec["id"])
        assert err.value.status == 404 and rec["id"] in err.value.url


def test_lists_pages_and_iteration(srv: Backend, posts_seeded: list[str]) -> None:
    with Client(srv.url) as pb:
        posts = pb.collection("posts")
        flt = pb.filter("title ~ {:p}", {"p": "seed "})
        page = posts.get_list(2, 3, filter=flt, sort="views")
        assert (page.page, page.per_page, page.total_items, page.total_pages) == (2, 3, 7, 3)
        assert [p["views"] for p in page.items] == [3, 4, 5]
        assert posts.get_list(1, 3, filter=flt, skip_total=True).total_items == -1
        full = posts.get_full_list(batch=2, filter=flt, sort="-views")
        assert [p["views"] for p in full] == [6, 5, 4, 3, 2, 1, 0]
        assert [p["id"] for p in posts.iterate(batch=3, filter=flt, sort="views")] == posts_seeded
        if srv.kind == "baas":  # by cursor: a record written before the position shifts nothing
            seen, late = [], []
            try:
                for p in posts.iterate(batch=2, filter=flt, sort="-views"):
                    seen.append(p["id"])
                    if len(seen) == 3:
                        late.append(posts.create({"title": "seed late", "views": 6}))
            finally:  # the other tests count the seeded posts
                for rec in late:
                    posts.delete(rec["id"])
            assert seen == posts_seeded[::-1] and len(late) == 1
        first = posts.get_first_list_item(pb.filter("views = {:v} && title ~ {:p}", {"v": 4, "p": "seed"}))
        assert first["id"] == posts_seeded[4]
        with pytest.raises(ClientError) as err:
            posts.get_first_list_item(pb.filter("title = {:t}", {"t": "no such title"}))
        assert err.value.status == 404


def test_filter_binding_resists_quote_injection(srv: Backend, posts_seeded: list[str]) -> None:
    with Client(srv.url) as pb:
        posts = pb.collection("posts")
        tricky = posts.create({"title": 'it\'s "quoted" {:x}'})
        for attack in ("' || title != '", "x' || views >= 0 || title = 'x", '" || views >= 0 || title = "'):
            flt = pb.filter("title = {:t}", {"t": attack})
            assert posts.get_list(1, 50, filter=flt).items == []  # never "everything"
        found = posts.get_list(filter=pb.filter("title = {:t}", {"t": 'it\'s "quoted" {:x}'}))
        assert [r["id"] for r in found.items] == [tricky["id"]]
        if srv.kind == "baas":  # backslash values: checked on baas (PocketBase reads them alike)
            slashed = posts.create({"title": "back\\slash\\"})
            for attack in ("\\' || views >= 0 || title = '", "\\"):
                assert posts.get_list(filter=pb.filter("title = {:t}", {"t": attack})).items == []
            found = posts.get_list(filter=pb.filter("title = {:t}", {"t": "back\\slash\\"}))
            assert [r["id"] for r in found.items] == [slashed["id"]]


def test_expand_and_fields(srv: Backend) -> None:
    author = srv.user(f"expand-{srv.kind}@example.com")
    me = author.auth_store.record
    assert me is not None
    with Client(srv.url) as pb:
        posts = pb.collection("posts")
        rec = author.collection("posts").create({"title": "by me", "author": me["id"]}, expand="author")
        assert rec["expand"]["author"]["email"] == me["email"]  # the author sees their own email
        one = author.collection("posts").get_one(rec["id"], expand="author", fields="id,expand.author.id")
        assert one == {"id": rec["id"], "expand": {"author": {"id": me["id"]}}}
        # a guest may not expand users (their list/view rules need the record's own auth)
        assert posts.get_one(rec["id"], expand="author").get("expand", {}).get("author") is None
    author.close()


def test_errors_carry_status_and_field_errors(srv: Backend) -> None:
    with Client(srv.url) as pb:
        posts = pb.collection("posts")
        with pytest.raises(ClientError) as err:
            posts.create({"views": 1})  # title is required
        assert err.value.status == 400 and err.value.field_errors == {"title": "validation_required"}
        assert err.value.data["title"]["message"]
        with pytest.raises(ClientError) as err:
            pb.collection("nope").get_list()
        assert err.value.status == 404
        if srv.kind == "baas":  # PocketBase cuts the path off the name instead
            with pytest.raises(ClientError) as err:
                pb.collection("posts").create({"title": "x"}, files={"image": ("../evil.png", png_bytes())})
            assert err.value.field_errors == {"image": "validation_invalid_file_name"}


def test_files_from_path_bytes_and_stream(srv: Backend, tmp_path: Any) -> None:
    image = tmp_path / "pic.png"
    image.write_bytes(png_bytes())
    with Client(srv.url) as pb:
        posts = pb.collection("posts")
        rec = posts.create(
            {"title": "with files", "views": 3, "tags": ["a", "c"]},
            files={"image": image, "photos": [b"one", ("two.txt", io.BytesIO(b"two"))]},
        )
        assert rec["image"].startswith("pic") and len(rec["photos"]) == 2 and rec["views"] == 3
        assert rec["tags"] == ["a", "c"]  # JSON values keep their types next to files (@jsonPayload)
        url = pb.files.get_url(rec, rec["image"])
        got = httpx.get(url)
        assert got.status_code == 200 and got.content == image.read_bytes()
        thumb = httpx.get(pb.files.get_url(rec, rec["image"], thumb="50x50"))
        assert thumb.status_code == 200 and thumb.content != image.read_bytes()
        with image.open("rb") as stream:
            rec = posts.update(rec["id"], {"photos-": [rec["photos"][0]]}, files={"photos+": stream})
        assert len(rec["photos"]) == 2 and rec["photos"][1].startswith("pic")
        assert httpx.get(pb.files.get_url(rec, rec["photos"][0])).content == b"two"
        assert pb.files.get_url(rec, "") == ""


def test_protected_file_needs_a_token(srv: Backend) -> None:
    user = srv.user(f"vault-{srv.kind}@example.com")
    rec = user.collection("vault").create({"name": "contract"}, files={"doc": ("contract.txt", b"secret terms")})
    without = httpx.get(user.files.get_url(rec, rec["doc"]))
    assert without.status_code == 404
    url = user.files.get_url(rec, rec["doc"], token=user.files.get_token())
    assert httpx.get(url).content == b"secret terms"
    user.close()


def test_batch_is_one_transaction(srv: Backend) -> None:
    with Client(srv.url) as pb:
        first = pb.collection("posts").create({"title": "batch target"})
        batch = pb.batch()
        batch.collection("posts").create({"title": "batch new", "views": 1})
        batch.collection("posts").update(first["id"], {"views+": 2})
        results = batch.send()
        assert [r.status for r in results] == [200, 200]
        assert results[1].body["views"] == 2
        bad = pb.batch()
        bad.collection("posts").delete(first["id"])
        bad.collection("posts").create({"views": 1})  # invalid: title required -> nothing applies
        with pytest.raises(ClientError) as err:
            bad.send()
        assert err.value.status == 400
        assert pb.collection("posts").get_one(first["id"])["views"] == 2
        with pytest.raises(ValueError, match="empty"):
            pb.batch().send()


def test_batch_with_files(srv: Backend) -> None:
    with Client(srv.url) as pb:
        first = pb.collection("posts").create({"title": "batch file target"})
        batch = pb.batch()
        batch.collection("posts").create(
            {"title": "batch with files", "tags": ["a"]},
            files={"image": ("b.png", png_bytes()), "photos": [b"one", ("two.txt", io.BytesIO(b"two"))]},
        )
        batch.collection("posts").update(first["id"], {"views": 4}, files={"photos+": ("extra.txt", b"extra")})
        made, changed = (r.body for r in batch.send())
        assert made["image"] and len(made["photos"]) == 2 and made["tags"] == ["a"]
        assert httpx.get(pb.files.get_url(made, made["image"])).content == png_bytes()
        assert changed["views"] == 4 and len(changed["photos"]) == 1
        assert httpx.get(pb.files.get_url(changed, changed["photos"][0])).content == b"extra"
        bad = pb.batch()  # a file the field refuses (over its 1 MiB maxSize) fails the whole batch
        bad.collection("posts").create({"title": "kept out"})
        bad.collection("posts").create({"title": "kept out"}, files={"photos": ("big.bin", b"x" * 1_100_000)})
        with pytest.raises(ClientError) as err:
            bad.send()
        assert err.value.status == 400
        flt = pb.filter("title = {:t}", {"t": "kept out"})
        assert pb.collection("posts").get_list(filter=flt).total_items == 0


async def test_async_client_same_calls(srv: Backend, posts_seeded: list[str]) -> None:
    async with AsyncClient(srv.url) as pb:
        posts = pb.collection("posts")
        rec = await posts.create({"title": "async", "views": 2}, files={"image": ("a.png", png_bytes())})
        rec = await posts.update(rec["id"], {"views+": 1})
        assert rec["views"] == 3
        flt = pb.filter("title ~ {:p}", {"p": "seed "})
        assert [r["id"] async for r in posts.iterate(batch=4, filter=flt, sort="views")] == posts_seeded
        assert len(await posts.get_full_list(filter=flt)) == 7
        assert (await posts.get_list(1, 2, filter=flt)).total_pages == 4
        await posts.delete(rec["id"])
        with pytest.raises(ClientError) as err:
            await posts.get_one(rec["id"])
        assert err.value.status == 404


async def test_aggregate(srv: Backend, posts_seeded: list[str]) -> None:
    """``aggregate`` (docs/aggregates.md): sync and async, names as a string or a list; PocketBase
    has no such route (404)."""
    flt = "title ~ 'seed '"
    with Client(srv.url) as pb:
        posts = pb.collection("posts")
        if srv.kind != "baas":
            with pytest.raises(ClientError) as err:
                posts.aggregate(sum="views")
            assert err.value.status == 404
            return
        page = posts.aggregate(sum="views", avg=["views"], min="views", max="views", filter=flt)
        assert page.items == [
            {
                "group": {},
                "count": 7,
                "sum": {"views": 21},
                "avg": {"views": 3},
                "min": {"views": 0},
                "max": {"views": 6},
            }
        ]
        page = posts.aggregate(
            group_by=["title"], filter=flt, having="sum.views > 2", sort="-sum.views", sum="views", per_page=2
        )
        assert [i["group"]["title"] for i in page.items] == ["seed 6", "seed 5"]
        assert (page.total_items, page.total_pages) == (4, 2)
        with pytest.raises(ClientError) as err:
            posts.aggregate(group_by="nope")
        assert err.value.status == 400 and "groupBy" in (err.value.data or {})
        with pytest.raises(TypeError):
            posts.aggregate(sum=[1])  # type: ignore[list-item]
    async with AsyncClient(srv.url) as apb:
        page = await apb.collection("posts").aggregate(group_by="title", filter=flt, sort="title", per_page=3, page=3)
        assert [(i["group"]["title"], i["count"]) for i in page.items] == [("seed 6", 1)]


def test_search(srv: Backend) -> None:
    """``search`` on get_list, iterate (by page in relevance order, by cursor when sorted) and
    aggregate, on a collection with full-text search (docs/search.md)."""
    if srv.kind != "baas":
        return  # PocketBase has no full-text search
    with srv.admin() as pb:
        token = pb.auth_store.token
        body = {
            "name": "sdk_notes",
            "type": "base",
            "listRule": "",
            "fields": [{"name": "text", "type": "text"}, {"name": "n", "type": "number"}],
            "search": {"fields": ["text"]},
        }
        r = httpx.post(f"{srv.url}/api/collections", json=body, headers={"Authorization": token})
        assert r.status_code == 200, r.text
        notes = pb.collection("sdk_notes")
        for i in range(7):
            notes.create({"text": f"note {i} {'kestrel' if i % 2 else 'heron'}", "n": i})
        page = notes.get_list(1, 2, search="kestrel")
        assert page.total_items == 3 and all("kestrel" in r["text"] for r in page.items)
        assert sorted(r["n"] for r in notes.iterate(batch=2, search="kestrel")) == [1, 3, 5]
        assert [r["n"] for r in notes.get_full_list(batch=2, search="heron", sort="-n")] == [6, 4, 2, 0]
        assert notes.aggregate(search="heron", sum="n").items[0]["sum"] == {"n": 12}
