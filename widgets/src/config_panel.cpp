#include "pretext/widgets/config_panel.h"

#include <QComboBox>
#include <QFileDialog>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QPushButton>
#include <QTreeWidget>
#include <QVBoxLayout>
#include <map>

#include "pretext/runs/presets.h"

namespace pretext::widgets {

namespace {
constexpr int kKeyRole = Qt::UserRole + 1;
}

ConfigPanel::ConfigPanel(QWidget* parent) : QWidget(parent) {
  m_source = new QComboBox(this);
  m_source->setEditable(false);
  for (const auto& p : core::presets())
    m_source->addItem(QString::fromStdString(p.name)),
        m_source->setItemData(m_source->count() - 1, QString::fromStdString(p.description),
                              Qt::ToolTipRole);
  m_source->setToolTip(tr("Preset or YAML file the run starts from"));
  auto* browse = new QPushButton(tr("Open YAML…"), this);
  browse->setToolTip(tr("Start from an experiment YAML file"));
  m_tree = new QTreeWidget(this);
  m_tree->setColumnCount(2);
  m_tree->setHeaderLabels({tr("Key"), tr("Value")});
  m_tree->header()->setSectionResizeMode(0, QHeaderView::ResizeToContents);
  m_tree->setEditTriggers(QAbstractItemView::DoubleClicked | QAbstractItemView::EditKeyPressed |
                          QAbstractItemView::SelectedClicked);
  m_message = new QLabel(this);
  m_message->setWordWrap(true);
  m_message->setStyleSheet("color: #b00020;");
  auto* top = new QHBoxLayout();
  top->addWidget(m_source, 1);
  top->addWidget(browse);
  auto* lay = new QVBoxLayout(this);
  lay->setContentsMargins(4, 4, 4, 4);
  lay->addLayout(top);
  lay->addWidget(m_tree, 1);
  lay->addWidget(m_message);

  connect(m_source, &QComboBox::currentTextChanged, this, [this] {
    loadBase();
    Q_EMIT sourceChanged(source());
  });
  connect(browse, &QPushButton::clicked, this, [this] {
    QString f = QFileDialog::getOpenFileName(this, tr("Experiment config"), QString(),
                                             tr("YAML (*.yaml *.yml)"));
    if (!f.isEmpty()) setSource(f);
  });
  connect(m_tree, &QTreeWidget::itemChanged, this, &ConfigPanel::onItemChanged);
  loadBase();
}

QString ConfigPanel::source() const { return m_source->currentText(); }

void ConfigPanel::setSource(const QString& s) {
  if (m_source->findText(s) < 0) m_source->addItem(s);
  m_source->setCurrentText(s);
  loadBase();
}

void ConfigPanel::loadBase() {
  std::string text, src, err;
  std::vector<core::ConfigIssue> issues;
  m_base.reset();
  if (core::resolveConfigSource(source().toStdString(), text, src, err))
    m_base = core::Config::parse(text, src, {}, issues);
  else
    issues.push_back({"", err});
  m_loading = true;
  m_tree->clear();
  std::map<std::string, QTreeWidgetItem*> sections;
  for (const auto& spec : core::configSchema()) {
    auto dot = spec.path.rfind('.');
    std::string section = spec.path.substr(0, dot);
    auto& parent = sections[section];
    if (!parent) {
      parent = new QTreeWidgetItem(m_tree, {QString::fromStdString(section)});
      parent->setFlags(Qt::ItemIsEnabled);
      parent->setExpanded(section == "trainer" || section == "objective.pnce" ||
                          section == "objective.ebc");
    }
    auto* item = new QTreeWidgetItem(parent);
    item->setText(0, QString::fromStdString(spec.path.substr(dot + 1)));
    const core::ConfigValue& v = m_base ? m_base->get(spec.path) : spec.defaultValue;
    item->setText(1, QString::fromStdString(core::formatValue(v)));
    item->setData(0, kKeyRole, QString::fromStdString(spec.path));
    QString help = QString::fromStdString(spec.help);
    if (!spec.choices.empty()) {
      QStringList c;
      for (const auto& ch : spec.choices) c << QString::fromStdString(ch);
      help += "\n" + tr("One of: %1").arg(c.join(", "));
    }
    item->setToolTip(0, QString::fromStdString(spec.path) + "\n" + help);
    item->setToolTip(1, help);
    item->setFlags(Qt::ItemIsEnabled | Qt::ItemIsSelectable | Qt::ItemIsEditable);
  }
  m_loading = false;
  QStringList msgs;
  for (const auto& i : issues) msgs << QString::fromStdString(i.toString());
  m_message->setText(msgs.join("\n"));
  Q_EMIT valuesChanged();
}

std::vector<std::string> ConfigPanel::overrides() const {
  std::vector<std::string> out;
  for (QTreeWidgetItemIterator it(m_tree); *it; ++it) {
    QString key = (*it)->data(0, kKeyRole).toString();
    if (key.isEmpty()) continue;
    const std::string k = key.toStdString();
    const std::string base = m_base ? core::formatValue(m_base->get(k)) : std::string();
    const std::string now = (*it)->text(1).trimmed().toStdString();
    if (now != base) out.push_back(k + "=" + now);
  }
  return out;
}

bool ConfigPanel::setValue(const QString& key, const QString& value) {
  for (QTreeWidgetItemIterator it(m_tree); *it; ++it)
    if ((*it)->data(0, kKeyRole).toString() == key) {
      (*it)->setText(1, value);  // triggers validation through itemChanged
      return (*it)->data(1, Qt::UserRole + 2).toString().isEmpty();
    }
  return false;
}

bool ConfigPanel::hasErrors() const { return !m_base || !m_message->text().isEmpty(); }

QString ConfigPanel::value(const QString& key) const {
  for (QTreeWidgetItemIterator it(m_tree); *it; ++it)
    if ((*it)->data(0, kKeyRole).toString() == key) return (*it)->text(1).trimmed();
  return {};
}

std::optional<core::Config> ConfigPanel::resolved() const {
  if (!m_base) return std::nullopt;
  std::vector<core::ConfigIssue> issues;
  return m_base->with(overrides(), issues);
}

QString ConfigPanel::problems() const { return m_message->text(); }

void ConfigPanel::setEditable(bool editable) {
  m_tree->setEnabled(editable);
  m_source->setEnabled(editable);
}

void ConfigPanel::onItemChanged(QTreeWidgetItem* item, int column) {
  if (m_loading || column != 1) return;
  validateAll();
}

void ConfigPanel::validateAll() {
  if (!m_base) return;
  m_loading = true;
  QStringList msgs;
  for (QTreeWidgetItemIterator it(m_tree); *it; ++it) {
    QString key = (*it)->data(0, kKeyRole).toString();
    if (key.isEmpty()) continue;
    std::vector<core::ConfigIssue> issues;
    const std::string one = key.toStdString() + "=" + (*it)->text(1).trimmed().toStdString();
    m_base->with({one}, issues);
    QString err;
    for (const auto& i : issues)
      if (i.path == key.toStdString()) err = QString::fromStdString(i.message);
    (*it)->setData(1, Qt::UserRole + 2, err);
    (*it)->setForeground(1, err.isEmpty() ? palette().text() : QBrush(QColor(176, 0, 32)));
    QFont f = (*it)->font(1);
    f.setBold(one.substr(one.find('=') + 1) != core::formatValue(m_base->get(key.toStdString())));
    (*it)->setFont(1, f);
    if (!err.isEmpty()) msgs << key + ": " + err;
  }
  // Cross-field rules need all edits together.
  if (msgs.isEmpty()) {
    std::vector<core::ConfigIssue> issues;
    m_base->with(overrides(), issues);
    for (const auto& i : issues) msgs << QString::fromStdString(i.toString());
  }
  m_message->setText(msgs.join("\n"));
  m_loading = false;
  Q_EMIT valuesChanged();
}

}  // namespace pretext::widgets
