<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="ru">
<context>
    <name>SelfHelpPage</name>
    <message>
        <source>Get help</source>
        <translation>Помощь</translation>
    </message>
    <message>
        <source>Describe what is wrong in your own words. Answers appear as you type.</source>
        <translation>Опишите, что не так, своими словами. Ответы появляются прямо во время ввода.</translation>
    </message>
    <message>
        <source>&amp;Describe your problem</source>
        <translation>&amp;Опишите проблему</translation>
    </message>
    <message>
        <source>For example: the printer does not print</source>
        <translation>Например: принтер не печатает</translation>
    </message>
    <message>
        <source>Describe your problem</source>
        <translation>Опишите проблему</translation>
    </message>
    <message>
        <source>Answers appear below as you type. Press Down to go to them.</source>
        <translation>Ответы появляются ниже во время ввода. Чтобы перейти к ним, нажмите стрелку вниз.</translation>
    </message>
    <message>
        <source>Suggested articles</source>
        <translation>Подходящие статьи</translation>
    </message>
    <message>
        <source>Article</source>
        <translation>Статья</translation>
    </message>
    <message>
        <source>None of these helped? Report the problem to IT support, or let Deskline check your computer first.</source>
        <translation>Ничего не помогло? Сообщите о проблеме в службу ИТ-поддержки или сначала проверьте компьютер с помощью Deskline.</translation>
    </message>
    <message>
        <source>&amp;Check my computer</source>
        <translation>Проверить &amp;компьютер</translation>
    </message>
    <message>
        <source>Check my computer</source>
        <translation>Проверить компьютер</translation>
    </message>
    <message>
        <source>&amp;Report a problem</source>
        <translation>&amp;Сообщить о проблеме</translation>
    </message>
    <message>
        <source>Report a problem</source>
        <translation>Сообщить о проблеме</translation>
    </message>
    <message>
        <source>No article matches these words. Try other words, or report the problem.</source>
        <translation>По этим словам статей не нашлось. Попробуйте другие слова или сообщите о проблеме.</translation>
    </message>
    <message>
        <source>Your organisation&apos;s own articles could not be loaded; the standard articles are shown.</source>
        <translation>Статьи вашей организации не удалось загрузить; показаны стандартные статьи.</translation>
    </message>
    <message>
        <source>Help articles</source>
        <translation>Справочные статьи</translation>
    </message>
    <message>
        <source>The help articles could not be loaded. You can still report the problem.</source>
        <translation>Не удалось загрузить справочные статьи. Вы всё равно можете сообщить о проблеме.</translation>
    </message>
    <message>
        <source>Loading help articles…</source>
        <translation>Загружаем справочные статьи…</translation>
    </message>
    <message>
        <source>Choose a topic to read how to fix it.</source>
        <translation>Выберите тему, чтобы прочитать, как решить проблему.</translation>
    </message>
    <message>
        <source>Popular topics</source>
        <translation>Частые вопросы</translation>
    </message>
</context>
</TS>
