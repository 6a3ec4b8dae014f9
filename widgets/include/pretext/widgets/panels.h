#pragma once
// The augmentation and objective panels: task-shaped editors over the experiment panel's
// config (every edit goes through ConfigPanel::setValue, so validation, overrides and the
// run's recorded config stay in one place). GUI thread only.
//
// AugmentationPanel: each spatial transform with enable, range, probability and the
// objective that enforces it, plus jitter; "Preview" samples a transform from these values
// (as the trainer would) for the equivariance inspector.
//
// ObjectivePanel: the objective weights, their main hyper-parameters and the learning
// rate. While a run trains, the live keys (learning rate, weights) stay editable and
// "Apply at next step" sends the changed ones to the trainer; everything else is locked.
#include <QWidget>
#include <functional>
#include <map>
#include <random>
#include <vector>

#include "pretext/data/augment.h"

class QLabel;
class QPushButton;
class QFormLayout;

namespace pretext::widgets {

class ConfigPanel;

// One config key shown as a line edit, check box or choice list; writes through the
// ConfigPanel and marks itself red (tooltip: the problem) when the value is refused.
class ConfigField;

class AugmentationPanel : public QWidget {
  Q_OBJECT
 public:
  AugmentationPanel(ConfigPanel* config, QWidget* parent = nullptr);
  // The editor of `key` (named after it), e.g. for tests driving the panel.
  QWidget* fieldWidget(const QString& key) const;
  // A transform drawn from the panel's current values; false (and `error`) if invalid.
  bool sampleTransform(core::SpatialTransform& out, QString& error);

 Q_SIGNALS:
  void previewRequested(const pretext::core::SpatialTransform& t);

 private:
  void refresh();
  ConfigPanel* m_config;
  std::vector<ConfigField*> m_fields;
  QPushButton* m_preview = nullptr;
  QLabel* m_message = nullptr;
  std::mt19937_64 m_rng{20261124};
};

class ObjectivePanel : public QWidget {
  Q_OBJECT
 public:
  ObjectivePanel(ConfigPanel* config, QWidget* parent = nullptr);
  QWidget* fieldWidget(const QString& key) const;
  // A run started (its live values are the experiment panel's) or ended.
  void setRunActive(bool active);
  // The live values that differ from what the run uses, as key -> value.
  std::map<QString, QString> pendingChanges() const;
  QPushButton* applyButton() const { return m_apply; }

 Q_SIGNALS:
  // "Apply at next step": the changed live values, already validated.
  void applyRequested(const std::map<QString, QString>& changes);

 private:
  void refresh();
  ConfigPanel* m_config;
  std::vector<ConfigField*> m_fields;
  QPushButton* m_apply = nullptr;
  QLabel* m_message = nullptr;
  bool m_running = false;
  std::map<QString, QString> m_runValues;  // live values the run uses now
};

}  // namespace pretext::widgets
