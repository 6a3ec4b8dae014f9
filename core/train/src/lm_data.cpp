#include "lm_data.h"

#include <algorithm>
#include <array>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "pretext/data/street_sim.h"  // mixSeed

namespace pretext::core::lm {

std::vector<std::int64_t> TokenSource::sequence(std::mt19937_64& rng, std::int64_t n,
                                                bool validation) const {
  std::vector<std::int64_t> out(static_cast<std::size_t>(n));
  if (withBos) {
    out[0] = bos();
    fill(rng, out.data() + 1, n - 1, validation);
  } else {
    fill(rng, out.data(), n, validation);
  }
  return out;
}

std::string TokenSource::tokenText(std::int64_t id) const {
  if (id == bos()) return "<bos>";
  if (id == pad()) return "<pad>";
  return baseText(id);
}

BackcopySource::BackcopySource(std::int64_t vocab, std::int64_t triggers, double triggerProb,
                               double alpha, std::uint64_t seed)
    : m_vocab(vocab), m_normal(vocab - triggers), m_triggerProb(triggerProb) {
  std::mt19937_64 rng(mixSeed(seed, 0xB16A4ull));
  std::gamma_distribution<double> gamma(alpha, 1.0);
  for (std::int64_t r = 0; r < m_normal; ++r) {
    std::vector<double> cdf(static_cast<std::size_t>(m_normal));
    double sum = 0;
    for (auto& x : cdf) x = (sum += gamma(rng) + 1e-12);
    for (auto& x : cdf) x /= sum;
    m_cdf.push_back(std::move(cdf));
  }
}

void BackcopySource::fill(std::mt19937_64& rng, std::int64_t* out, std::int64_t n, bool) const {
  if (n <= 0) return;
  std::uniform_real_distribution<double> U(0.0, 1.0);
  std::uniform_int_distribution<std::int64_t> anyNormal(0, m_normal - 1);
  std::uniform_int_distribution<std::int64_t> anyTrigger(m_normal, m_vocab - 1);
  out[0] = anyNormal(rng);
  for (std::int64_t t = 1; t < n; ++t) {
    const std::int64_t prev = out[t - 1];
    if (isTrigger(prev))
      out[t] = out[t - 2];  // t - 1 >= 1 here: the first token is never a trigger
    else if (U(rng) < m_triggerProb)
      out[t] = anyTrigger(rng);
    else {
      const auto& cdf = m_cdf[static_cast<std::size_t>(prev)];
      const auto it = std::upper_bound(cdf.begin(), cdf.end(), U(rng));
      out[t] = std::min<std::int64_t>(static_cast<std::int64_t>(it - cdf.begin()), m_normal - 1);
    }
  }
}

std::string BackcopySource::baseText(std::int64_t id) const {
  return (isTrigger(id) ? "T" + std::to_string(id - m_normal) : "a" + std::to_string(id));
}

CorpusSource::CorpusSource(std::string_view text, bool bytes) {
  if (text.size() < 1000)
    throw std::runtime_error("the text corpus is too small (" + std::to_string(text.size()) +
                             " bytes; need at least 1000)");
  std::array<std::int64_t, 256> map{};
  map.fill(-1);
  if (bytes) {
    for (int b = 0; b < 256; ++b) m_chars.push_back(static_cast<unsigned char>(b));
  } else {
    std::array<bool, 256> seen{};
    for (unsigned char c : text) seen[c] = true;
    for (int b = 0; b < 256; ++b)
      if (seen[static_cast<std::size_t>(b)]) m_chars.push_back(static_cast<unsigned char>(b));
  }
  for (std::size_t i = 0; i < m_chars.size(); ++i) map[m_chars[i]] = static_cast<std::int64_t>(i);
  m_ids.reserve(text.size());
  for (unsigned char c : text) m_ids.push_back(map[c]);
  m_split = m_ids.size() * 9 / 10;
}

void CorpusSource::fill(std::mt19937_64& rng, std::int64_t* out, std::int64_t n,
                        bool validation) const {
  const std::size_t lo = validation ? m_split : 0, hi = validation ? m_ids.size() : m_split;
  const std::size_t len = static_cast<std::size_t>(n);
  if (hi - lo <= len)
    throw std::runtime_error("the text corpus split is shorter than one sequence");
  std::uniform_int_distribution<std::size_t> start(lo, hi - len - 1);
  std::copy_n(m_ids.begin() + static_cast<std::ptrdiff_t>(start(rng)), len, out);
}

std::string CorpusSource::baseText(std::int64_t id) const {
  const unsigned char c = m_chars[static_cast<std::size_t>(id)];
  if (c == '\n') return "\\n";
  if (c == ' ') return "\u2423";
  if (c < 32 || c >= 127) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "\\x%02x", c);
    return buf;
  }
  return std::string(1, static_cast<char>(c));
}

std::unique_ptr<TokenSource> makeTokenSource(const Config& c) {
  const std::string src = c.getString("text.source");
  std::unique_ptr<TokenSource> out;
  if (src == "backcopy") {
    out = std::make_unique<BackcopySource>(
        c.getInt("text.backcopy_vocab"), c.getInt("text.backcopy_triggers"),
        c.getFloat("text.backcopy_trigger_prob"), c.getFloat("text.backcopy_alpha"),
        static_cast<std::uint64_t>(c.getInt("experiment.seed")));
  } else {
    const bool bytes = c.getString("text.tokenizer") == "byte";
    if (src == "shakespeare") {
      out = std::make_unique<CorpusSource>(embeddedCorpus(), bytes);
    } else {
      const std::string path = c.getString("text.path");
      std::ifstream in(path, std::ios::binary);
      if (!in) throw std::runtime_error("text.path: cannot open " + path);
      std::stringstream ss;
      ss << in.rdbuf();
      try {
        out = std::make_unique<CorpusSource>(ss.str(), bytes);
      } catch (const std::exception& e) {
        throw std::runtime_error(path + ": " + e.what());
      }
    }
  }
  out->withBos = c.getBool("text.bos");
  return out;
}

}  // namespace pretext::core::lm
