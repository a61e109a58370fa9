"""The optional LLM: story summaries and translations from an OpenAI-compatible server, checked.

    prompt.py   the messages for one (story, language): the task, the sources fenced as data
    client.py   one chat-completions call (``openai`` with ``base_url``), streamed or not
    checks.py   the answer parsed and judged: language, length, plain text, no invented facts

The ``llm`` tick (``jobs/llm.py``) writes what passes into ``story_texts``; digests read it
there and never wait for the model.
"""
