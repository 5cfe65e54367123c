"""The demo world: a seeded, realistic retargeting world the demo, tests, notebooks and benchmarks share.

``generate_demo_world(persons=N, seed=S)`` returns the canonical source tables
of SPEC §3 (customers, sessions, devices, contacts, events, interactions,
consents) and a labels table ``source,record_key,true_id``. The same seed
always gives the same world, byte for byte once written.

What makes it realistic (and hard), and where each part is drawn:

* ``people`` and ``names``: people live in households (one home address and
  home IP, often one surname), with names from per-locale pools in Latin,
  Hebrew and Cyrillic script and Zipf-like frequencies;
* ``touchpoints``: most touchpoints are web sessions carrying only a cookie
  id, an IP and a user agent; some are logged in, some carry a typed
  newsletter email, a few a checkout form with name, email, phone and
  postcode; people browse from home, the office or a mobile carrier's NAT
  address shared by thousands, and use one to three browsers whose cookies
  churn; app devices carry advertising ids, in-app sessions the device id;
  CRM customers have some duplicate rows (nickname, typo, an old email);
* ``messaging``: WhatsApp / Viber phone numbers, Telegram handles, Messenger
  display names;
* ``noise``: national and international phone formats from six countries,
  nicknames, typos, case and spacing, gmail dots and plus-tags, dates in
  several formats;
* ``consents`` and ``activity``: banner answers per purpose, page views,
  messages sent, delivered and read, and customers' interactions;
* ``cases``: labelled hard cases (``DemoWorld.hard_cases``): a family tablet
  logged into two customer accounts, twins at one address, several people
  with the same common name in one city, a phone number recycled to another
  person, and placeholder email / phone values shared by unrelated customers.

Large worlds are generated in chunks of persons (``iter_demo_world_chunks``,
``generate``) so that memory stays bounded; ``write_demo_world`` (``files``)
writes them as files and ``demo_config_toml`` (``config``) the ``tether.toml``
that reads them. The generator writes consents, events and configuration, so
it lives in ``api`` (which may know every package), not in the resolver.
"""

from __future__ import annotations

from api.worlds.demo.config import demo_config_toml
from api.worlds.demo.files import write_demo_world
from api.worlds.demo.generate import generate_demo_world, iter_demo_world_chunks
from api.worlds.demo.world import LINKED_SOURCES, SOURCE_FILES, WORLD_NOW, DemoWorld, Format

__all__ = [
    "LINKED_SOURCES",
    "SOURCE_FILES",
    "WORLD_NOW",
    "DemoWorld",
    "Format",
    "demo_config_toml",
    "generate_demo_world",
    "iter_demo_world_chunks",
    "write_demo_world",
]
