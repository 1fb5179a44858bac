"""An app using the generated types (tests/typegen/data/schema.yaml): pyright strict must pass.

Not run, only type-checked: test_typecheck.py copies it next to the generated ``baas_types``."""

from __future__ import annotations

from typing import Any, assert_type

import baas_client
import one_types
from baas_types import (
    AsyncClient,
    Authors,
    Client,
    Posts,
    PostsCreate,
    PostStats,
    PostsUpdate,
    Tags,
)


def list_posts(client: Client) -> list[str]:
    page = client.collection("posts").get_list(1, 20, expand="author,tags", sort="-created")
    assert_type(page, baas_client.ListResult[Posts])
    titles: list[str] = []
    for post in page.items:
        titles.append(post["title"])
        if post["status"] == "draft":  # a Literal union: "draft" | "published" | ""
            continue
        expand = post.get("expand", {})
        author = expand.get("author")
        if author is not None:
            assert_type(author, Authors)
            titles.append(author["bio"])
        for tag in expand.get("tags", []):
            assert_type(tag, Tags)
            titles.append(tag["label"])
        rank: int = post["rank"]
        views: float = post["views"]
        flags: list[str] = list(post["flags"])
        meta: Any = post["meta"]
        titles.append(f"{rank} {views} {flags} {meta} {post['from']} {post['publishedAt']}")
    return titles


def write_posts(client: Client) -> Posts:
    body: PostsCreate = {
        "title": "Hello",
        "author": "a" * 15,
        "accepted": True,
        "kind": "news",
        "flags": ["a", "c"],
        "tags": ["t" * 15],
        "meta": {"any": ["json"]},
    }
    created = client.collection("posts").create(body, files={"cover": b"png bytes"})
    assert_type(created, Posts)
    change: PostsUpdate = {"views+": 1, "tags-": "t" * 15, "+flags": "b", "gallery-": ["old.png"], "status": ""}
    return client.collection("posts").update(created["id"], change)


def read_a_view(client: Client) -> list[PostStats]:
    stats = client.collection("post_stats").get_full_list(sort="-views")
    assert_type(stats, list[PostStats])
    one = client.collection("post_stats").get_one(stats[0]["id"])
    return [one, *stats]


def sign_up(client: Client) -> str:
    user = client.collection("authors").create(
        {"email": "ann@example.com", "password": "password-123", "passwordConfirm": "password-123"}
    )
    email = user.get("email", "")  # optional: shown to the owner, superusers, or when visible
    return email + user["collectionName"]


async def async_list(client: AsyncClient) -> list[Tags]:
    page = await client.collection("tags").get_list()
    assert_type(page, baas_client.ListResult[Tags])
    return page.items


def one_collection(client: one_types.Client) -> one_types.AReallyQuiteLongCollectionName:
    """A schema of one collection: ``collection`` is a plain method, still typed by name."""
    record = client.collection("a_really_quite_long_collection_name").get_one("x" * 15)
    assert_type(record, one_types.AReallyQuiteLongCollectionName)
    return record
