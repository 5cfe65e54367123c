"""Erasures (audit records) and the suppression list.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "erasures",
        sa.Column("erasure_id", sa.String(64), primary_key=True),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("subject_type", sa.String(16), nullable=False),
        sa.Column("subject_id", sa.String(256), nullable=False),
        sa.Column("person_id", sa.String(64), nullable=True),
        sa.Column("run_id", sa.String(64), nullable=True),
        sa.Column("records", sa.Integer, nullable=False),
        sa.Column("subjects", sa.Integer, nullable=False),
        sa.Column("identifiers", sa.Integer, nullable=False),
        sa.Column("requested_by", sa.String(64), nullable=False),
    )
    op.create_table(
        "suppressions",
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("value", sa.String(300), nullable=False),
        sa.Column("erasure_id", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("kind", "value"),
    )


def downgrade() -> None:
    op.drop_table("suppressions")
    op.drop_table("erasures")
