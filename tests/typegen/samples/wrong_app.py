"""Mistakes the generated types must catch: each line marked ``# expect: RULE`` must get that
pyright diagnostic, and no other line any (test_typecheck.py)."""

from __future__ import annotations

import one_types
from baas_types import AsyncClient, Client, Posts


def unknown_collection(client: Client) -> None:
    client.collection("postz")  # expect: reportCallIssue


async def unknown_collection_async(client: AsyncClient) -> None:
    await client.collection("tag").get_list()  # expect: reportCallIssue


def unknown_field_read(post: Posts) -> object:
    return post["titel"]  # expect: reportGeneralTypeIssues


def unknown_field_written(client: Client) -> None:
    client.collection("tags").create({"labl": "x"})  # expect: reportArgumentType


def wrong_type_written(client: Client) -> None:
    client.collection("tags").create({"label": 5})  # expect: reportArgumentType


def wrong_type_read(post: Posts) -> int:
    views: int = post["title"]  # expect: reportAssignmentType
    return views


def select_value_not_in_the_schema(client: Client) -> None:
    client.collection("posts").update("x" * 15, {"status": "archived"})  # expect: reportArgumentType


def missing_required_key(client: Client) -> None:
    client.collection("tags").create({})  # expect: reportArgumentType


def write_to_a_view(client: Client) -> None:
    client.collection("post_stats").create({"title": "x"})  # expect: reportArgumentType


def unknown_expand(post: Posts) -> object:
    return post["expand"]["editor"]  # expect: reportGeneralTypeIssues


def unknown_collection_of_a_one_collection_schema(client: one_types.Client) -> None:
    client.collection("notes")  # expect: reportArgumentType
