"""The schema of the record-write service tests."""

SCHEMA = """
collections:
  - name: authors
    listRule: ""
    viewRule: ""
    createRule: ""
    updateRule: ""
    deleteRule: ""
    fields:
      - {name: name, type: text}
  - name: posts
    listRule: ""
    viewRule: ""
    createRule: ""
    updateRule: ""
    deleteRule: ""
    fields:
      - {name: title, type: text, required: true}
      - {name: views, type: number}
      - {name: tags, type: json}
      - {name: secret, type: text, hidden: true}
      - {name: author, type: relation, collection: authors, maxSelect: 1}
      - {name: created, type: autodate, onCreate: true}
      - {name: updated, type: autodate, onCreate: true, onUpdate: true}
"""
