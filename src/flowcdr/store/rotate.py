"""Rotating the encryption key of secrets at rest: every stored secret re-encrypted.

Which columns hold secrets is not listed here: every text value of every control table that the
old key decrypts is one (Fernet tokens are authenticated: nothing else decrypts), so a secret
column added later cannot be left behind under the old key. All of it is one transaction: a
failure leaves every secret under the old key.
"""

import sqlalchemy as sa
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy.engine import Engine

from flowcdr.store.schema import metadata

FERNET_PREFIX = "gAAAAA"  # version byte 0x80 and the start of a timestamp, base64


def rotate_secrets(engine: Engine, old: Fernet, new: Fernet) -> int:
    """Re-encrypt every value that ``old`` decrypts with ``new``; the number of values."""
    both = MultiFernet([new, old])
    rotated = 0
    with engine.begin() as connection:
        for table in metadata.sorted_tables:
            texts = [column for column in table.columns if isinstance(column.type, sa.String)]
            key = list(table.primary_key.columns)
            if not texts or not key:
                continue
            candidates = sa.or_(*(column.startswith(FERNET_PREFIX) for column in texts))
            for row in connection.execute(sa.select(*key, *texts).where(candidates)).mappings():
                changes = {}
                for column in texts:
                    value = row[column.name]
                    if isinstance(value, str) and value.startswith(FERNET_PREFIX):
                        try:
                            old.decrypt(value.encode())
                        except InvalidToken:
                            continue
                        changes[column.name] = both.rotate(value.encode()).decode()
                if changes:
                    where = [column == row[column.name] for column in key]
                    connection.execute(table.update().where(*where).values(**changes))
                    rotated += len(changes)
    return rotated
