"""Full-text search (docs/search.md): the SQL that reads the index each database keeps (built by
`baas.search`), and the names and options both sides share.

SQLite: an FTS5 table ``_fts_<collection id>`` holding a copy of the searched fields (editor
fields as plain text), kept by triggers on the collection's table, so every write, from any
path (API, batch, cascade, schema conversion), changes the index in its own transaction. Its
rowid is the record's rowid. A copy rather than FTS5's external content: the snippets are cut
from the text as it was indexed, which for an editor field is not its stored HTML.

PostgreSQL: a stored generated column ``_search``, the ``to_tsvector`` of the searched fields
(weighted A-D), with a GIN index. Stored because a search reads the vectors of every match twice
(to check them and to rank them): from an expression index alone it would compute them each
time (measured on 200,000 records: 84 searches a second instead of 228).

A client's search text is read by `parse` into words, "quoted phrases" and ``prefix*`` terms,
all required, and turned into each database's query syntax here, never passed through: no
operator, column filter or syntax error of FTS5 or tsquery is reachable from the outside.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

from baas.db.tables import q
from baas.rules.errors import RuleError
from baas.rules.sql import SQL, cat, frag
from baas.schema.model import Collection, Search

MAX_TEXT = 500  # characters of a search text
MAX_TERMS = 16
SNIPPET_WORDS = 24
MARK_START, MARK_END = "\x01", "\x02"  # inserted by the database, turned into <mark> after escaping
_TOKEN = re.compile(r"[^\W_]+\*?")  # words as both tokenizers cut them: letters and digits
_PG_CONFIG = {"simple": "simple", "english": "english"}
FTS5_TOKENIZER = {"simple": "unicode61 remove_diacritics 0", "english": "porter unicode61 remove_diacritics 0"}
_PG_WEIGHTS = "ABCD"
PG_COLUMN = "_search"  # PostgreSQL: the generated tsvector column


@dataclass(frozen=True)
class Term:
    """One required term: a word, a phrase (several words in order) or a word's prefix."""

    words: tuple[str, ...]
    prefix: bool = False


def config(coll: Collection) -> Search | None:
    return coll.search if coll.search is not None and coll.search.fields and coll.type != "view" else None


def parse(text: str) -> list[Term]:
    """A client's search text as terms; `RuleError` for text that can't be searched."""
    if len(text) > MAX_TEXT:
        raise RuleError(f"the search text is longer than {MAX_TEXT} characters")
    if "\x00" in text:
        raise RuleError("NUL character in the search text")
    terms: list[Term] = []
    for i, part in enumerate(text.split('"')):
        tokens = _TOKEN.findall(part)
        if i % 2:  # inside quotes: one phrase (a trailing * means nothing there)
            words = tuple(t.rstrip("*").lower() for t in tokens)
            if words:
                terms.append(Term(words))
            continue
        for token in tokens:
            terms.append(Term((token.rstrip("*").lower(),), prefix=token.endswith("*")))
    if not terms:
        raise RuleError("the search text has no words")
    if len(terms) > MAX_TERMS:
        raise RuleError(f"at most {MAX_TERMS} search terms")
    return terms


def _pg_config(cfg: Search) -> str:
    """The PostgreSQL text search configuration of ``cfg``'s language, as SQL."""
    return f"'{_PG_CONFIG[cfg.language]}'::regconfig"


def fts_table(coll: Collection) -> str:
    return f"_fts_{coll.id}"


MAX_FIELD_TEXT = 100_000  # characters of one field's value that are searched (PostgreSQL's tsvector is bounded)
# Characters that only ever separate words: control characters (\x01/\x02 mark the matches in
# snippets, so stored text must not hold them) and ASCII punctuation, so that PostgreSQL's
# parser, which keeps e-mails, URLs and numbers like 3.14 whole, cuts words where FTS5 does.
_PG_SEPARATORS = "[\\x01-\\x04!-/:-@\\[-`{-~]+"
_PG_CONTROL = "[\\x01-\\x04]"


def fts_column(i: int) -> str:
    """The FTS5 column of the ``i``-th searched field (by position: FTS5 reserves some names)."""
    return f"c{i}"


def sqlite_value(coll: Collection, name: str, row: str) -> str:
    """A searched field's value as the SQLite index holds it (``row``: ``new.`` in triggers)."""
    col = f"substr({row}{q(name)}, 1, {MAX_FIELD_TEXT})"
    f = coll.field(name)
    if f is not None and f.type == "editor":
        return f"baas_text({col})"
    return f"replace(replace({col}, char(1), ' '), char(2), ' ')"


def pg_text(coll: Collection, name: str, alias: str = "", shown: bool = False) -> str:
    """A searched field's text as PostgreSQL indexes it: an editor field's tags and entities
    dropped, word separators as FTS5's. ``shown``: the text a snippet is cut from, tags dropped
    and the rest as stored (entities are decoded by `marked`)."""
    col = f"left({q(alias) + '.' if alias else ''}{q(name)}, {MAX_FIELD_TEXT})"
    f = coll.field(name)
    if f is not None and f.type == "editor":
        col = f"regexp_replace({col}, '<[^>]*>', ' ', 'g')"
    if shown:
        return f"regexp_replace({col}, '{_PG_CONTROL}', ' ', 'g')"
    if f is not None and f.type == "editor":
        col = f"regexp_replace({col}, '&(#[0-9]+|#x[0-9a-f]+|[a-z]+);', ' ', 'gi')"
    return f"regexp_replace({col}, '{_PG_SEPARATORS}', ' ', 'g')"


def pg_vector(coll: Collection) -> str:
    """The weighted tsvector of the searched fields: the generated column's expression."""
    cfg = config(coll)
    assert cfg is not None
    levels = sorted({cfg.weights.get(n, 1.0) for n in cfg.fields}, reverse=True)
    parts = []
    for n in cfg.fields:  # the largest weight is class A; a fifth weight and smaller ones share D
        level = _PG_WEIGHTS[min(levels.index(cfg.weights.get(n, 1.0)), 3)]
        parts.append(f"setweight(to_tsvector({_pg_config(cfg)}, {pg_text(coll, n)}), '{level}')")
    return " || ".join(parts)


def _pg_rank_weights(cfg: Search) -> str:
    """ts_rank's weights array {D, C, B, A} so each class counts as its fields' weight says."""
    levels = sorted({cfg.weights.get(n, 1.0) for n in cfg.fields}, reverse=True)[:4]
    top = levels[0]
    by_class = [levels[i] / top if i < len(levels) else 0.1 for i in range(4)]  # A, B, C, D
    return "'{" + ", ".join(repr(round(w, 6)) for w in reversed(by_class)) + "}'::float4[]"


# -- reading it ------------------------------------------------------------------------------------
def fts5_query(terms: list[Term]) -> str:
    """FTS5 query text: each term a quoted string (a phrase when several words), all required."""
    out = []
    for t in terms:
        out.append('"' + " ".join(t.words).replace('"', '""') + '"' + (" *" if t.prefix else ""))
    return " AND ".join(out)


def pg_query(coll: Collection, terms: list[Term]) -> SQL:
    """A tsquery expression (bound values) for ``terms``."""
    cfg = config(coll)
    assert cfg is not None
    conf = _pg_config(cfg)
    parts: list[SQL | str] = []
    for i, t in enumerate(terms):
        if i:
            parts.append(" && ")
        if t.prefix:  # the word is letters and digits only: nothing tsquery would read as an operator
            parts.append(frag(f"to_tsquery({conf}, CAST(? AS TEXT) || ':*')", t.words[0]))
        else:
            parts.append(frag(f"phraseto_tsquery({conf}, CAST(? AS TEXT))", " ".join(t.words)))
    return cat("(", *parts, ")")


def matches(coll: Collection, terms: list[Term], dialect: str, alias: str) -> SQL:
    """A condition over ``alias``: the record has every term. Reads the record by id, so it holds
    on any row shaped like the table (realtime checks events on such rows)."""
    if config(coll) is None:
        raise RuleError(f"the collection {coll.name!r} has no full-text search")
    if dialect == "postgresql":
        return cat(
            f"{q(alias)}.{q('id')} IN (SELECT {q('_c')}.{q('id')} FROM {q(coll.name)} AS {q('_c')} "
            f"WHERE {q('_c')}.{q(PG_COLUMN)} @@ ",
            pg_query(coll, terms),
            ")",
        )
    fts = q(fts_table(coll))
    return frag(
        f"{q(alias)}.{q('id')} IN (SELECT {q('_c')}.{q('id')} FROM {q(coll.name)} AS {q('_c')} "
        f"WHERE {q('_c')}.rowid IN (SELECT rowid FROM {fts} WHERE {fts} MATCH ?))",
        fts5_query(terms),
    )


def same_as_stored(coll: Collection, dialect: str, alias: str) -> SQL:
    """A condition over ``alias``: the table's row of that id has the same searched values (a
    record version carried by an event may no longer be the one the index has)."""
    cfg = config(coll)
    assert cfg is not None
    same = " IS NOT DISTINCT FROM " if dialect == "postgresql" else " IS "
    cols = " AND ".join(f"{q('_g')}.{q(n)}{same}{q(alias)}.{q(n)}" for n in cfg.fields)
    return frag(
        f"EXISTS (SELECT 1 FROM {q(coll.name)} AS {q('_g')} WHERE {q('_g')}.{q('id')} = {q(alias)}.{q('id')} AND {cols})"
    )


@dataclass
class Ranked:
    """What a ranked list adds to its statement: a join (SQLite), a condition, the rank to order by."""

    join: SQL
    where: SQL
    rank: SQL  # ascending: best first


def ranked(coll: Collection, terms: list[Term], dialect: str, alias: str) -> Ranked:
    cfg = config(coll)
    assert cfg is not None
    if dialect == "postgresql":
        vector = f"{q(alias)}.{q(PG_COLUMN)}"
        query = pg_query(coll, terms)
        rank = cat(f"-ts_rank({_pg_rank_weights(cfg)}, {vector}, ", query, ")")
        return Ranked(frag(""), cat(f"{vector} @@ ", query), rank)
    fts = q(fts_table(coll))
    weights = ", ".join(repr(float(cfg.weights.get(n, 1.0))) for n in cfg.fields)
    return Ranked(
        frag(f" JOIN {fts} ON {fts}.rowid = {q(alias)}.rowid"),
        frag(f"{fts} MATCH ?", fts5_query(terms)),
        frag(f"bm25({fts}, {weights})"),
    )


@dataclass
class Snippets:
    """A statement's parts for snippets of some searched fields, the matches between
    `MARK_START` and `MARK_END`: ``SELECT select source AND "m"."id" IN (…)``."""

    select: SQL  # the id, then one snippet per field
    source: SQL  # FROM … WHERE …, to be followed by more conditions
    entities: list[bool]  # per field: the snippet still holds an editor field's HTML entities


def snippets(coll: Collection, terms: list[Term], dialect: str, names: list[str]) -> Snippets:
    cfg = config(coll)
    assert cfg is not None
    m = q("m")
    if dialect == "postgresql":
        opts = f"StartSel={MARK_START}, StopSel={MARK_END}, MaxWords={SNIPPET_WORDS}, MinWords=8, ShortWord=0"
        query = pg_query(coll, terms)
        cols: list[SQL | str] = []
        for n in names:
            cols += [
                ", ",
                cat(f"ts_headline({_pg_config(cfg)}, {pg_text(coll, n, 'm', shown=True)}, ", query, f", '{opts}')"),
            ]
        editor = [(f := coll.field(n)) is not None and f.type == "editor" for n in names]
        return Snippets(cat(f"{m}.{q('id')}", *cols), frag(f"FROM {q(coll.name)} AS {m} WHERE 1 = 1"), editor)
    fts = q(fts_table(coll))
    sel = "".join(
        f", snippet({fts}, {cfg.fields.index(n)}, '{MARK_START}', '{MARK_END}', '…', {SNIPPET_WORDS})" for n in names
    )
    source = frag(
        f"FROM {q(coll.name)} AS {m} JOIN {fts} ON {fts}.rowid = {m}.rowid WHERE {fts} MATCH ?", fts5_query(terms)
    )
    return Snippets(frag(f"{m}.{q('id')}{sel}"), source, [False] * len(names))  # the index holds text, entities read


def marked(text: str | None, entities: bool = False) -> str:
    """A snippet as safe HTML: its text escaped, the matches in ``<mark>`` (``entities``: the
    text still holds the HTML entities of an editor field, read as the characters they are)."""
    if not text:
        return ""
    if entities:
        text = html.unescape(text)
    text = text.replace("\x03", "").replace("\x04", "")  # the placeholders below, never text's own
    safe = html.escape(text.replace(MARK_START, "\x03").replace(MARK_END, "\x04"), quote=False)
    return safe.replace("\x03", "<mark>").replace("\x04", "</mark>")
