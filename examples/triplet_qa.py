"""Answer selection with a triplet loss: question, right answer, wrong answer.

Three token sequences pass through one shared encoder; `TripletMarginLossLayer` adds
max(0, margin + cos(q, wrong) - cos(q, right)) with `add_loss`, and `fit` runs with
`y=None`. Afterwards the encoder alone ranks answers for new questions.

The data are synthetic and built so that only learning can solve them: every topic
has its own question words and its own, different, answer words (the lexical gap of
real question answering), so a right answer shares no token with its question and an
untrained encoder ranks answers by chance.

Run on any backend:

    KERAS_BACKEND=jax python examples/triplet_qa.py
"""

from __future__ import annotations

import keras
import numpy as np

from kerasloss.layers import TripletMarginLossLayer

TOPICS = 40  # topics; each has its own question words and answer words
WORDS_PER_TOPIC = 6
COMMON = 100  # filler words shared by all topics
LENGTH = 12  # tokens per sequence: 4 topic words, 8 filler words
VOCABULARY = COMMON + 2 * TOPICS * WORDS_PER_TOPIC
EPOCHS = 8


def _sequences(rng, topics, offset):
    """Token ids: four words of the topic (from the block at `offset`) among filler words."""
    topic_words = (
        offset
        + topics[:, None] * WORDS_PER_TOPIC
        + rng.integers(0, WORDS_PER_TOPIC, (len(topics), 4))
    )
    filler = rng.integers(0, COMMON, (len(topics), LENGTH - 4))
    return rng.permuted(np.concatenate([topic_words, filler], axis=1), axis=1).astype("int32")


def make_data(n=2000, seed=0):
    """(questions, right answers, wrong answers), each (n, LENGTH) int32 token ids."""
    rng = np.random.default_rng(seed)
    topics = rng.integers(0, TOPICS, n)
    wrong_topics = (topics + rng.integers(1, TOPICS, n)) % TOPICS  # any other topic
    answer_block = COMMON + TOPICS * WORDS_PER_TOPIC
    return (
        _sequences(rng, topics, COMMON),
        _sequences(rng, topics, answer_block),
        _sequences(rng, wrong_topics, answer_block),
    )


def build_model(seed=0, margin=0.2):
    """The shared encoder, and the three-input model that trains it."""
    keras.utils.set_random_seed(seed)
    encoder = keras.Sequential(
        [
            keras.Input((LENGTH,), dtype="int32"),
            keras.layers.Embedding(VOCABULARY, 32),
            keras.layers.GlobalAveragePooling1D(),
            keras.layers.Dense(32),
        ],
        name="encoder",
    )
    question, right, wrong = (keras.Input((LENGTH,), dtype="int32") for _ in range(3))
    losses = TripletMarginLossLayer(margin=margin, distance="cosine")(
        [encoder(question), encoder(right), encoder(wrong)]
    )
    # The per-triplet losses are the model's output, so the layer stays in the graph.
    model = keras.Model([question, right, wrong], losses)
    model.compile(optimizer=keras.optimizers.Adam(1e-2))
    return encoder, model


def right_answer_rate(encoder, data):
    """Share of triplets where the encoder puts the right answer closer (cosine)."""
    questions, rights, wrongs = (encoder.predict(x, verbose=0) for x in data)

    def cosine(a, b):
        return (a * b).sum(-1) / (np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1))

    return float(np.mean(cosine(questions, rights) > cosine(questions, wrongs)))


def main():
    train, held_out = make_data(seed=0), make_data(seed=1)
    encoder, model = build_model()
    print(f"before training: right answer closer in {right_answer_rate(encoder, held_out):.3f}")
    model.fit(list(train), None, batch_size=64, epochs=EPOCHS, verbose=2)
    print(f"after training:  right answer closer in {right_answer_rate(encoder, held_out):.3f}")


if __name__ == "__main__":
    main()
