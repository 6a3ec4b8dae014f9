#pragma once
// Edits an experiment config: a preset (or YAML file) as the base, every schema key listed
// with its value, help text as tooltip and inline validation. GUI thread only.
#include <QWidget>
#include <optional>
#include <string>
#include <vector>

#include "pretext/runs/config.h"

class QComboBox;
class QTreeWidget;
class QTreeWidgetItem;
class QLabel;

namespace pretext::widgets {

class ConfigPanel : public QWidget {
  Q_OBJECT
 public:
  explicit ConfigPanel(QWidget* parent = nullptr);
  // The preset name or YAML path the run starts from.
  QString source() const;
  void setSource(const QString& presetOrFile);
  // key=value for each edited value (what a run records as its overrides).
  std::vector<std::string> overrides() const;
  // Sets one value as a user would type it; returns false (and marks the row) if invalid.
  bool setValue(const QString& key, const QString& value);
  bool hasErrors() const;
  // The value of `key` as shown (edited or from the base); empty for unknown keys.
  QString value(const QString& key) const;
  // The resolved config: the base with every edit, or nullopt with problems().
  std::optional<core::Config> resolved() const;
  QString problems() const;
  void setEditable(bool editable);

 Q_SIGNALS:
  void sourceChanged(const QString& source);
  // Any value changed (an edit, a new base); panels that show values refresh.
  void valuesChanged();

 private:
  void loadBase();
  void onItemChanged(QTreeWidgetItem* item, int column);
  void validateAll();
  QComboBox* m_source = nullptr;
  QTreeWidget* m_tree = nullptr;
  QLabel* m_message = nullptr;
  std::optional<core::Config> m_base;
  bool m_loading = false;
};

}  // namespace pretext::widgets
