#pragma once
// Private to core: token streams for the language-model experiments. Any thread; a source
// is immutable after construction and draws only from the generator it is given.
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "pretext/runs/config.h"

namespace pretext::core {
std::string_view embeddedCorpus();
}

namespace pretext::core::lm {

class TokenSource {
 public:
  virtual ~TokenSource() = default;
  // `n` tokens of the training or validation split; with BOS, token 0 is BOS.
  std::vector<std::int64_t> sequence(std::mt19937_64& rng, std::int64_t n, bool validation) const;
  std::int64_t vocabSize() const { return baseVocab() + 2; }  // + BOS + PAD
  std::int64_t bos() const { return baseVocab(); }
  std::int64_t pad() const { return baseVocab() + 1; }
  std::string tokenText(std::int64_t id) const;

  bool withBos = true;

 protected:
  virtual std::int64_t baseVocab() const = 0;
  virtual void fill(std::mt19937_64& rng, std::int64_t* out, std::int64_t n,
                    bool validation) const = 0;
  virtual std::string baseText(std::int64_t id) const = 0;
};

// The synthetic Bigram-Backcopy stream (methods.md §2.5): after one of the trigger tokens
// the next token repeats the token before the trigger; otherwise the next token is a
// trigger with probability p, else drawn from a fixed bigram table whose rows are
// Dirichlet(alpha) (fixed by the seed). Ids: normal tokens first, then the triggers.
class BackcopySource : public TokenSource {
 public:
  BackcopySource(std::int64_t vocab, std::int64_t triggers, double triggerProb, double alpha,
                 std::uint64_t seed);
  bool isTrigger(std::int64_t id) const { return id >= m_normal && id < m_vocab; }
  std::int64_t normalTokens() const { return m_normal; }

 protected:
  std::int64_t baseVocab() const override { return m_vocab; }
  void fill(std::mt19937_64& rng, std::int64_t* out, std::int64_t n,
            bool validation) const override;
  std::string baseText(std::int64_t id) const override;

 private:
  std::int64_t m_vocab, m_normal;
  double m_triggerProb;
  std::vector<std::vector<double>> m_cdf;  // cumulative bigram rows
};

// A text corpus, character- or byte-level; the first 90 % trains, the last 10 % validates.
class CorpusSource : public TokenSource {
 public:
  CorpusSource(std::string_view text, bool bytes);

 protected:
  std::int64_t baseVocab() const override { return static_cast<std::int64_t>(m_chars.size()); }
  void fill(std::mt19937_64& rng, std::int64_t* out, std::int64_t n,
            bool validation) const override;
  std::string baseText(std::int64_t id) const override;

 private:
  std::vector<unsigned char> m_chars;  // id -> byte
  std::vector<std::int64_t> m_ids;     // the corpus as ids
  std::size_t m_split;
};

// From the config's text.* keys; throws std::runtime_error naming the file on failure.
std::unique_ptr<TokenSource> makeTokenSource(const Config& config);

}  // namespace pretext::core::lm
