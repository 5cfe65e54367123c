"""Export history: exports and their members (for add/remove deltas).

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "exports",
        sa.Column("export_id", sa.String(64), primary_key=True),
        sa.Column("segment", sa.String(64), nullable=False),
        sa.Column("destination", sa.String(64), nullable=False),
        sa.Column("run_id", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("exported", sa.Integer, nullable=False),
        sa.Column("added", sa.Integer, nullable=False),
        sa.Column("removed", sa.Integer, nullable=False),
        sa.Column("manifest_sha256", sa.String(64), nullable=False),
        sa.Column("directory", sa.String(1024), nullable=False),
    )
    op.create_index(
        "ix_exports_segment_destination", "exports", ["segment", "destination", "created_at"]
    )
    op.create_table(
        "export_members",
        sa.Column("export_id", sa.String(64), primary_key=True),
        sa.Column("person_id", sa.String(64), primary_key=True),
        sa.Column("removal_keys", sa.JSON, nullable=True),
    )


def downgrade() -> None:
    op.drop_table("export_members")
    op.drop_index("ix_exports_segment_destination", table_name="exports")
    op.drop_table("exports")
