"""The policy knowledge base that HR runs (issue 19); no Rasa imports.

- `topics`: the fixed topic ids (shared/kb-topics.md);
- `models`: articles, their versions (draft, published, superseded, retired; who and when),
  sections, and the record of answers given;
- `article_files`: the Markdown-with-front-matter format; `library`: import, export, storage;
- `editing`: the console's changes (draft, publish, retire), audited;
- `ranking`: BM25 over sections; `index_cache`: each process's index, refreshed from the
  database within seconds; `answering`: the answer (or "no article") and its record;
- `answer_log`: what an employee was told, read back.
"""
