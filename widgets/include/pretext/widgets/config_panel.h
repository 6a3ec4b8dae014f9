#pragma once
// Edits an experiment config: a preset (or YAML file) as the base, every schema key listed
// with its value, help text as tooltip and inline validation. GUI thread only.
#include <QWidget>
#include <optional>
#include <string>
#include <vector>

#include "pretext/core/config.h"

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
  void setEditable(bool editable);

 Q_SIGNALS:
  void sourceChanged(const QString& source);

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
