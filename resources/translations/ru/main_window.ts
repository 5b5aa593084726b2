<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="ru">
<context>
    <name>MainWindow</name>
    <message>
        <source>Get help</source>
        <translation>Помощь</translation>
    </message>
    <message>
        <source>Check my computer</source>
        <translation>Проверить компьютер</translation>
    </message>
    <message>
        <source>Report a problem</source>
        <translation>Сообщить о проблеме</translation>
    </message>
    <message>
        <source>My tickets</source>
        <translation>Мои заявки</translation>
    </message>
    <message>
        <source>Remote sessions</source>
        <translation>Удалённые сеансы</translation>
    </message>
    <message>
        <source>Settings</source>
        <translation>Настройки</translation>
    </message>
    <message>
        <source>Deskline: help with your computer</source>
        <translation>Deskline: помощь с компьютером</translation>
    </message>
    <message>
        <source>Sections</source>
        <translation>Разделы</translation>
    </message>
    <message>
        <source>%1 (Ctrl+%2)</source>
        <translation>%1 (Ctrl+%2)</translation>
    </message>
</context>
</TS>
