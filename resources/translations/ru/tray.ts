<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="ru">
<context>
    <name>TrayController</name>
    <message>
        <source>Get help</source>
        <translation>Помощь</translation>
    </message>
    <message>
        <source>Report a problem…</source>
        <translation>Сообщить о проблеме…</translation>
    </message>
    <message>
        <source>My tickets</source>
        <translation>Мои заявки</translation>
    </message>
    <message>
        <source>Settings</source>
        <translation>Настройки</translation>
    </message>
    <message>
        <source>Quit Deskline</source>
        <translation>Выйти из Deskline</translation>
    </message>
    <message>
        <source>A remote session is active</source>
        <translation>Идёт удалённый сеанс</translation>
    </message>
    <message>
        <source>New replies: %1</source>
        <translation>Новых ответов: %1</translation>
    </message>
    <message>
        <source>No remote session</source>
        <translation>Удалённого сеанса нет</translation>
    </message>
    <message>
        <source>Remote session: %1 until %2</source>
        <translation>Удалённый сеанс: %1, до %2</translation>
    </message>
    <message>
        <source>Remote sessions active: %1</source>
        <translation>Активных удалённых сеансов: %1</translation>
    </message>
    <message>
        <source>Ending the remote session…</source>
        <translation>Завершаем удалённый сеанс…</translation>
    </message>
    <message>
        <source>End remote session</source>
        <translation>Завершить удалённый сеанс</translation>
    </message>
    <message>
        <source>Deskline is still running</source>
        <translation>Deskline продолжает работать</translation>
    </message>
    <message>
        <source>Deskline keeps running in the tray, so you hear about replies to your tickets. To quit, choose Quit Deskline in its menu.</source>
        <translation>Deskline остаётся в области уведомлений, чтобы сообщать вам об ответах на заявки. Чтобы выйти, выберите «Выйти из Deskline» в его меню.</translation>
    </message>
    <message>
        <source>New reply on %1</source>
        <translation>Новый ответ по заявке %1</translation>
    </message>
    <message>
        <source>Open My tickets to read it.</source>
        <translation>Откройте «Мои заявки», чтобы прочитать его.</translation>
    </message>
    <message>
        <source>%1 was updated</source>
        <translation>Заявка %1 изменилась</translation>
    </message>
    <message>
        <source>Open My tickets to see what changed.</source>
        <translation>Откройте «Мои заявки», чтобы посмотреть, что изменилось.</translation>
    </message>
</context>
</TS>
