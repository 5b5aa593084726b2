<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="ru">
<context>
    <name>DeliveryService</name>
    <message>
        <source>Deskline found a problem with its saved reports and repaired what it could.</source>
        <translation>Deskline обнаружил повреждение сохранённых обращений и восстановил всё, что удалось.</translation>
    </message>
    <message>
        <source>Your reports cannot reach the helpdesk because of a problem in the settings. They are kept on this computer and will be sent once the settings are fixed.</source>
        <translation>Ваши обращения не доходят до службы поддержки из-за ошибки в настройках. Они сохранены на этом компьютере и будут отправлены, как только настройки исправят.</translation>
    </message>
    <message>
        <source>Deskline cannot read or write its saved reports right now. It will try again in a moment.</source>
        <translation>Deskline сейчас не может прочитать или записать сохранённые обращения. Скоро он попробует ещё раз.</translation>
    </message>
    <message>
        <source>%1 “%2” is now: %3</source>
        <translation>%1 «%2»: теперь «%3»</translation>
    </message>
    <message>
        <source>%1 “%2” could not be sent: %3</source>
        <translation>%1 «%2» не удалось отправить: %3</translation>
    </message>
    <message>
        <source>New reply on %1 “%2” from %3: %4</source>
        <translation>Новый ответ по %1 «%2» от %3: %4</translation>
    </message>
    <message numerus="yes">
        <source>%n new replies on %1 “%2”, the latest from %3: %4</source>
        <translation>
            <numerusform>%n новый ответ по %1 «%2», последний от %3: %4</numerusform>
            <numerusform>%n новых ответа по %1 «%2», последний от %3: %4</numerusform>
            <numerusform>%n новых ответов по %1 «%2», последний от %3: %4</numerusform>
        </translation>
    </message>
</context>
<context>
    <name>ProblemBanner</name>
    <message>
        <source>Details</source>
        <translation>Подробности</translation>
    </message>
    <message>
        <source>Show the technical details</source>
        <translation>Показать технические подробности</translation>
    </message>
    <message>
        <source>Open settings</source>
        <translation>Открыть настройки</translation>
    </message>
    <message>
        <source>Open the settings</source>
        <translation>Открыть настройки</translation>
    </message>
    <message>
        <source>Dismiss</source>
        <translation>Скрыть</translation>
    </message>
    <message>
        <source>Dismiss this message</source>
        <translation>Скрыть это сообщение</translation>
    </message>
</context>
<context>
    <name>TicketStatus</name>
    <message>
        <source>New</source>
        <translation>Новая</translation>
    </message>
    <message>
        <source>In progress</source>
        <translation>В работе</translation>
    </message>
    <message>
        <source>Waiting for you</source>
        <translation>Ждёт вашего ответа</translation>
    </message>
    <message>
        <source>Resolved</source>
        <translation>Решена</translation>
    </message>
    <message>
        <source>Closed</source>
        <translation>Закрыта</translation>
    </message>
</context>
</TS>
