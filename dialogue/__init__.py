"""The learning relationship as a record (Interact): contacts, service cases, the question bank,
answers as facts, and the choice of the one or two questions worth asking now.

What the store keeps (documents, times as POSIX seconds), for every reader of them:

- a **contact** (``store.list_contacts`` / ``iter_contacts``): ``contact_id``, ``channel``,
  ``direction``, ``account_manager``, ``topic``, ``outcome``, ``note``, ``timestamp``,
  ``next_contact_at`` (or None), ``recorded_at``;
- a **case** (``store.list_cases`` / ``iter_cases`` / ``get_case``): ``case_id``, ``kind``,
  ``category``, ``item_id``, ``configuration_id``, ``severity`` (1-5), ``description``,
  ``opened_at``, ``status`` (``open`` / ``resolved``), ``resolution``, ``compensation``,
  ``contacts_to_resolve``, ``resolved_at``;
- an **answer** (``store.list_answers`` / ``iter_answers``): ``question_id``, ``attribute``
  (the profile fact it fills), ``value``, ``channel``, ``timestamp``.

:func:`dialogue.facts.declared` reads one fact (a declared wallet, a size) from a customer's
answers; :func:`dialogue.facts.open_complaints` the complaints still open.

Examples
--------
>>> from dialogue import DialogueService  # doctest: +SKIP
"""

from dialogue.facts import declared, open_complaints
from dialogue.paging import Page
from dialogue.service import DialogueService

__all__ = ["DialogueService", "Page", "declared", "open_complaints"]
