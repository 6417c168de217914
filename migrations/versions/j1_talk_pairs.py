"""talks: talk_pair, the held talks by (talker, talked-to) for the cadence core (issue 3, performance)

Revision ID: j1_talk_pairs
Revises: i1_join_domains
"""
import sqlalchemy as sa
from alembic import op

revision = "j1_talk_pairs"
down_revision = "i1_join_domains"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "talk_pair",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("talk_id", sa.Integer(), nullable=False),
        sa.Column("talker_id", sa.Integer(), nullable=False),
        sa.Column("talked_to_id", sa.Integer(), nullable=False),
        sa.Column("held_on", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("is_group", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["talk_id"], ["talk.id"], name=op.f("fk_talk_pair_talk_id_talk"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["talker_id"], ["person.id"], name=op.f("fk_talk_pair_talker_id_person"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["talked_to_id"], ["person.id"], name=op.f("fk_talk_pair_talked_to_id_person"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_talk_pair")),
    )
    with op.batch_alter_table("talk_pair", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_talk_pair_talk_id"), ["talk_id"], unique=False)
        batch_op.create_index("ix_talk_pair_held_on_talk", ["held_on", "talk_id"], unique=False)
        batch_op.create_index("ix_talk_pair_talker_held_on", ["talker_id", "held_on"], unique=False)
        batch_op.create_index("ix_talk_pair_talked_to", ["talked_to_id"], unique=False)
    # The pairs of the talks already held, derived as service/talks/pairs.py does.
    op.execute("""
        INSERT INTO talk_pair (talk_id, talker_id, talked_to_id, held_on, kind, is_group)
        SELECT t.id, a.person_id, b.person_id, t.held_on, t.kind,
               CASE WHEN t.collective OR (SELECT count(*) FROM talk_participant c
                                          WHERE c.talk_id = t.id AND c.role = 'talked_to') > 1
                    THEN TRUE ELSE FALSE END
        FROM talk t
        JOIN talk_participant a ON a.talk_id = t.id AND a.role = 'talker'
        JOIN talk_participant b ON b.talk_id = t.id AND b.role = 'talked_to'
        WHERE t.status = 'held'
    """)


def downgrade():
    with op.batch_alter_table("talk_pair", schema=None) as batch_op:
        batch_op.drop_index("ix_talk_pair_talked_to")
        batch_op.drop_index("ix_talk_pair_talker_held_on")
        batch_op.drop_index("ix_talk_pair_held_on_talk")
        batch_op.drop_index(batch_op.f("ix_talk_pair_talk_id"))
    op.drop_table("talk_pair")
