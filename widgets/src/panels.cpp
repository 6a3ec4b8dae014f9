#include "pretext/widgets/panels.h"

#include <QCheckBox>
#include <QComboBox>
#include <QFormLayout>
#include <QGroupBox>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QVBoxLayout>

#include "pretext/runs/config.h"
#include "pretext/train/lidar_options.h"
#include "pretext/widgets/config_panel.h"

namespace pretext::widgets {

class ConfigField : public QObject {
 public:
  ConfigField(ConfigPanel* config, const QString& key, QWidget* parent)
      : QObject(parent), m_config(config), m_key(key) {
    const core::ParamSpec* spec = core::findSpec(key.toStdString());
    const QString help = spec ? QString::fromStdString(spec->help) : QString();
    if (spec && spec->type == core::ParamType::Bool) {
      m_check = new QCheckBox(parent);
      m_widget = m_check;
      connect(m_check, &QCheckBox::toggled, this, [this] { edited(); });
    } else if (spec && !spec->choices.empty()) {
      m_combo = new QComboBox(parent);
      for (const auto& c : spec->choices) m_combo->addItem(QString::fromStdString(c));
      m_widget = m_combo;
      connect(m_combo, &QComboBox::currentTextChanged, this, [this] { edited(); });
    } else {
      m_line = new QLineEdit(parent);
      m_line->setMaximumWidth(110);
      m_widget = m_line;
      connect(m_line, &QLineEdit::editingFinished, this, [this] { edited(); });
    }
    m_help = key + "\n" + help;
    m_widget->setToolTip(m_help);
    m_widget->setObjectName(key);
  }

  QWidget* widget() const { return m_widget; }
  const QString& key() const { return m_key; }
  QString text() const {
    if (m_check) return m_check->isChecked() ? "true" : "false";
    if (m_combo) return m_combo->currentText();
    return m_line->text().trimmed();
  }
  // Shows the experiment panel's value without writing it back.
  void load() {
    const QString v = m_config->value(m_key);
    m_loading = true;
    if (m_check) m_check->setChecked(v == "true");
    if (m_combo) m_combo->setCurrentText(v);
    if (m_line && !m_line->hasFocus()) m_line->setText(v);
    m_loading = false;
    mark(problem());  // a value the experiment panel holds but refuses stays marked
  }
  // Detached fields (a run is training) keep their edits to themselves.
  void setDetached(bool d) { m_detached = d; }
  // The problem with the current text on its own (type, range, choices), or "". Rules
  // that involve several keys are the experiment panel's problems().
  QString problem() const {
    std::vector<core::ConfigIssue> issues;
    core::Config::defaults().with({m_key.toStdString() + "=" + text().toStdString()}, issues);
    return issues.empty() ? QString() : QString::fromStdString(issues.front().message);
  }
  void mark(const QString& problem) {
    m_widget->setStyleSheet(problem.isEmpty() ? QString() : QString("color: #b00020;"));
    m_widget->setToolTip(problem.isEmpty() ? m_help : problem + "\n\n" + m_help);
  }
  std::function<void()> onEdited;

 private:
  void edited() {
    if (m_loading) return;
    if (m_detached) {
      mark(problem());
    } else if (m_config->value(m_key) != text()) {
      mark(m_config->setValue(m_key, text()) ? QString() : problem());
    }
    if (onEdited) onEdited();
  }
  ConfigPanel* m_config;
  QString m_key, m_help;
  QWidget* m_widget = nullptr;
  QCheckBox* m_check = nullptr;
  QComboBox* m_combo = nullptr;
  QLineEdit* m_line = nullptr;
  bool m_loading = false, m_detached = false;
};

namespace {

QString labelOf(const QString& key) {
  QString last = key.section('.', -1);
  last.replace('_', ' ');
  return last;
}

ConfigField* findField(const std::vector<ConfigField*>& fields, const QString& key) {
  for (auto* f : fields)
    if (f->key() == key) return f;
  return nullptr;
}

struct FieldGroup {
  const char* title;
  std::vector<const char*> keys;
};

// One titled box per group, a row (label, editor) per key; keys a running run can change
// are marked ⟳. Every editor calls `onEdited` after an edit.
std::vector<ConfigField*> addFieldGroups(QWidget* owner, QVBoxLayout* lay, ConfigPanel* config,
                                         const std::vector<FieldGroup>& groups,
                                         const std::function<void()>& onEdited) {
  std::vector<ConfigField*> fields;
  for (const auto& g : groups) {
    auto* box = new QGroupBox(QObject::tr(g.title), owner);
    auto* form = new QFormLayout(box);
    form->setContentsMargins(6, 2, 6, 2);
    for (const char* key : g.keys) {
      auto* f = new ConfigField(config, key, box);
      f->onEdited = onEdited;
      QString label = labelOf(key);
      if (core::isLiveConfigKey(key)) label += " ⟳";
      form->addRow(label, f->widget());
      fields.push_back(f);
    }
    lay->addWidget(box);
  }
  return fields;
}

QLabel* messageLabel(QWidget* parent) {
  auto* l = new QLabel(parent);
  l->setWordWrap(true);
  l->setStyleSheet("color: #b00020;");
  return l;
}

}  // namespace

// ---- augmentations -----------------------------------------------------------------------

AugmentationPanel::AugmentationPanel(ConfigPanel* config, QWidget* parent)
    : QWidget(parent), m_config(config) {
  auto* lay = new QVBoxLayout(this);
  lay->setContentsMargins(4, 4, 4, 4);
  m_fields = addFieldGroups(
      this, lay, m_config,
      {{"Rotation (about z)",
        {"augment.rotation.enabled", "augment.rotation.range_deg", "augment.rotation.objective"}},
       {"Translation",
        {"augment.translation.enabled", "augment.translation.max_m",
         "augment.translation.objective"}},
       {"Scale",
        {"augment.scale.enabled", "augment.scale.min", "augment.scale.max",
         "augment.scale.objective"}},
       {"Flip",
        {"augment.flip.enabled", "augment.flip.prob", "augment.flip.prob_x",
         "augment.flip.objective"}},
       {"Noise", {"augment.jitter_m"}}},
      [this] { m_message->setText(m_config->problems()); });
  m_preview = new QPushButton(tr("Preview a sampled transform"), this);
  m_preview->setToolTip(
      tr("Draw a transform from these settings, as the trainer would, and show x and T x in "
         "the equivariance inspector"));
  m_message = messageLabel(this);
  lay->addWidget(m_preview);
  lay->addWidget(m_message);
  lay->addStretch(1);
  connect(m_preview, &QPushButton::clicked, this, [this] {
    core::SpatialTransform t;
    QString error;
    if (sampleTransform(t, error))
      Q_EMIT previewRequested(t);
    else
      m_message->setText(error);
  });
  connect(m_config, &ConfigPanel::valuesChanged, this, &AugmentationPanel::refresh);
  refresh();
}

QWidget* AugmentationPanel::fieldWidget(const QString& key) const {
  auto* f = findField(m_fields, key);
  return f ? f->widget() : nullptr;
}

bool AugmentationPanel::sampleTransform(core::SpatialTransform& out, QString& error) {
  auto config = m_config->resolved();
  if (!config) {
    error = tr("Fix the experiment first: %1").arg(m_config->problems());
    return false;
  }
  out = core::sampleTransform(core::lidarAugmentOptions(*config), m_rng);
  return true;
}

void AugmentationPanel::refresh() {
  for (auto* f : m_fields) f->load();
  // Augmentations belong to the LiDAR experiments.
  const bool lidar = m_config->value("experiment.kind").startsWith("lidar");
  setEnabled(lidar);
  m_message->setText(lidar ? m_config->problems()
                           : tr("The experiment has no point-cloud augmentations."));
}

// ---- objectives --------------------------------------------------------------------------

ObjectivePanel::ObjectivePanel(ConfigPanel* config, QWidget* parent)
    : QWidget(parent), m_config(config) {
  auto* lay = new QVBoxLayout(this);
  lay->setContentsMargins(4, 4, 4, 4);
  m_fields = addFieldGroups(
      this, lay, m_config,
      {{"Optimiser", {"trainer.lr", "trainer.lr_schedule", "trainer.weight_decay"}},
       {"Spatial: contrastive (PointInfoNCE)",
        {"objective.pnce.weight", "objective.pnce.temperature", "objective.pnce.pairs"}},
       {"Spatial: classification",
        {"objective.ebc.weight", "objective.ebc.bins", "objective.ebc.loss"}},
       {"Temporal: scene flow", {"objective.flow.weight", "objective.ema.momentum"}},
       {"Global (zoo)", {"objective.global.kind", "objective.global.weight"}}},
      [this] {
        if (!m_running) m_message->setText(m_config->problems());
        m_apply->setEnabled(m_running && !pendingChanges().empty());
      });
  auto* note = new QLabel(tr("⟳ can change while the run trains."), this);
  note->setStyleSheet("color: gray;");
  m_apply = new QPushButton(tr("Apply at next step"), this);
  m_apply->setToolTip(
      tr("Send the changed ⟳ values to the training run; they take effect before its next "
         "step and are recorded in the run's events (Ctrl+Return)"));
  m_apply->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_Return));
  m_apply->setEnabled(false);
  m_message = messageLabel(this);
  lay->addWidget(note);
  lay->addWidget(m_apply);
  lay->addWidget(m_message);
  lay->addStretch(1);
  connect(m_apply, &QPushButton::clicked, this, [this] {
    auto changes = pendingChanges();
    QStringList bad;
    for (const auto& [key, value] : changes)
      if (QString p = findField(m_fields, key)->problem(); !p.isEmpty()) bad << key + ": " + p;
    if (!bad.isEmpty()) {
      m_message->setText(bad.join("\n"));
      return;
    }
    for (const auto& [key, value] : changes) m_runValues[key] = value;
    m_apply->setEnabled(false);
    m_message->clear();
    Q_EMIT applyRequested(changes);
  });
  connect(m_config, &ConfigPanel::valuesChanged, this, &ObjectivePanel::refresh);
  refresh();
}

QWidget* ObjectivePanel::fieldWidget(const QString& key) const {
  auto* f = findField(m_fields, key);
  return f ? f->widget() : nullptr;
}

void ObjectivePanel::setRunActive(bool active) {
  m_running = active;
  m_runValues.clear();
  for (auto* f : m_fields) {
    const bool live = core::isLiveConfigKey(f->key().toStdString());
    f->setDetached(active);
    if (active && live) m_runValues[f->key()] = m_config->value(f->key());
    f->widget()->setEnabled(!active || live);
    if (!active) f->load();  // back to the experiment's values
  }
  m_apply->setEnabled(false);
  m_message->clear();
}

std::map<QString, QString> ObjectivePanel::pendingChanges() const {
  std::map<QString, QString> out;
  if (!m_running) return out;
  for (auto* f : m_fields) {
    auto it = m_runValues.find(f->key());
    if (it != m_runValues.end() && it->second != f->text()) out[f->key()] = f->text();
  }
  return out;
}

void ObjectivePanel::refresh() {
  if (m_running) return;  // the fields hold edits for the training run
  for (auto* f : m_fields) f->load();
  const bool lidar = m_config->value("experiment.kind") == "lidar_ssl";
  // Only the optimiser applies to other experiments.
  for (auto* f : m_fields)
    if (!f->key().startsWith("trainer.")) f->widget()->setEnabled(lidar);
  m_message->setText(m_config->problems());
}

}  // namespace pretext::widgets
