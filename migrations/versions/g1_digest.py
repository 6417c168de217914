"""digest: weekly email preferences and the unit's send day (issue 7)

Revision ID: g1_digest
Revises: f1_join_domains
"""
from alembic import op
import sqlalchemy as sa

revision = "g1_digest"
down_revision = "f1_join_domains"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "digest_preference",
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("weekly_email", sa.Boolean(), nullable=False),
        sa.Column("nothing_due_note", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["person_id"], ["person.id"], name=op.f("fk_digest_preference_person_id_person"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("person_id", name=op.f("pk_digest_preference")),
    )
    op.create_table(
        "digest_settings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("send_weekday", sa.Integer(), nullable=False),
        sa.Column("send_hour", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("send_weekday >= 0 and send_weekday <= 6 and send_hour >= 0 and send_hour <= 23",
                           name=op.f("ck_digest_settings_send_time_range")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_digest_settings")),
    )


def downgrade():
    op.drop_table("digest_settings")
    op.drop_table("digest_preference")
