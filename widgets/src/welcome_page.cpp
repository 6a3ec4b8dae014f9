#include "pretext/widgets/welcome_page.h"

#include <QHBoxLayout>
#include <QLabel>
#include <QListWidget>
#include <QPushButton>
#include <QVBoxLayout>

#include "pretext/runs/presets.h"

namespace pretext::widgets {

WelcomePage::WelcomePage(QWidget* parent) : QWidget(parent) {
  setObjectName("welcome");
  auto* intro = new QLabel(
      tr("<h2>Pretext</h2><p>Pre-train a LiDAR encoder or a small language model and watch "
         "it learn.</p><p>The default experiment needs no data: it simulates a street-scene "
         "LiDAR and pre-trains with E-SSL3D's equivariance and scene-flow objectives. Or pick "
         "a preset below, adjust it in the <b>Experiment</b> panel, and press <b>Start</b> "
         "(F5).</p>"),
      this);
  intro->setWordWrap(true);
  auto* startDefault = new QPushButton(tr("Start the default experiment"), this);
  startDefault->setObjectName("welcome.start");
  startDefault->setToolTip(
      tr("Load the 'default' preset and start it (same as choosing it "
         "in the Experiment panel and pressing F5)"));
  auto* presetList = new QListWidget(this);
  presetList->setObjectName("welcome.presets");
  presetList->setToolTip(tr("Double-click a preset to load it into the Experiment panel"));
  for (const auto& p : core::presets()) {
    auto* item = new QListWidgetItem(QString("%1 — %2").arg(QString::fromStdString(p.name),
                                                            QString::fromStdString(p.description)),
                                     presetList);
    item->setData(Qt::UserRole, QString::fromStdString(p.name));
  }
  auto* openButton = new QPushButton(tr("Open a run…"), this);
  openButton->setToolTip(tr("Open and tail an existing run directory (Ctrl+O)"));
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(40, 20, 40, 20);
  layout->addWidget(intro);
  auto* buttons = new QHBoxLayout();
  buttons->addWidget(startDefault);
  buttons->addWidget(openButton);
  buttons->addStretch(1);
  layout->addLayout(buttons);
  layout->addWidget(new QLabel(tr("Presets:"), this));
  layout->addWidget(presetList, 1);
  connect(startDefault, &QPushButton::clicked, this, &WelcomePage::startDefaultRequested);
  connect(presetList, &QListWidget::itemActivated, this, [this](QListWidgetItem* item) {
    Q_EMIT presetChosen(item->data(Qt::UserRole).toString());
  });
  connect(openButton, &QPushButton::clicked, this, &WelcomePage::openRunRequested);
}

}  // namespace pretext::widgets
