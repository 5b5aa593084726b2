<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="ru">
<context>
    <name>AttachmentRow</name>
    <message>
        <source>Remove</source>
        <translation>Убрать</translation>
    </message>
    <message>
        <source>Remove %1</source>
        <translation>Убрать %1</translation>
    </message>
</context>
<context>
    <name>AttachmentsPage</name>
    <message>
        <source>Drag files here: documents, photos of an error, log files. Or add them with the buttons.</source>
        <translation>Перетащите сюда файлы: документы, фото ошибки, журналы. Или добавьте их кнопками ниже.</translation>
    </message>
    <message>
        <source>&amp;Add files...</source>
        <translation>Добавить &amp;файлы...</translation>
    </message>
    <message>
        <source>Add files</source>
        <translation>Добавить файлы</translation>
    </message>
    <message>
        <source>Take a &amp;screenshot</source>
        <translation>Сделать &amp;снимок экрана</translation>
    </message>
    <message>
        <source>Take a screenshot</source>
        <translation>Сделать снимок экрана</translation>
    </message>
    <message>
        <source>Deskline hides itself, takes a picture of your screen, and lets you black out private parts before attaching it.</source>
        <translation>Deskline скроется, сделает снимок экрана и даст закрасить личное перед тем, как его приложить.</translation>
    </message>
    <message>
        <source>Attached files</source>
        <translation>Приложенные файлы</translation>
    </message>
    <message>
        <source>Nothing attached yet. Attachments are optional.</source>
        <translation>Пока ничего не приложено. Вложения необязательны.</translation>
    </message>
</context>
<context>
    <name>ReportWizard</name>
    <message>
        <source>Report a problem</source>
        <translation>Сообщить о проблеме</translation>
    </message>
    <message>
        <source>&amp;Back</source>
        <translation>&amp;Назад</translation>
    </message>
    <message>
        <source>Back to the previous step</source>
        <translation>Вернуться к предыдущему шагу</translation>
    </message>
    <message>
        <source>Try again</source>
        <translation>Повторить</translation>
    </message>
    <message>
        <source>Collect the system information again</source>
        <translation>Собрать сведения о системе ещё раз</translation>
    </message>
    <message>
        <source>Details</source>
        <translation>Подробности</translation>
    </message>
    <message>
        <source>Show the technical details</source>
        <translation>Показать технические подробности</translation>
    </message>
    <message>
        <source>Collecting system information</source>
        <translation>Сбор сведений о системе</translation>
    </message>
    <message>
        <source>A&amp;dd to it</source>
        <translation>Добавить &amp;туда</translation>
    </message>
    <message>
        <source>Add this to the earlier report</source>
        <translation>Добавить это к прежнему обращению</translation>
    </message>
    <message>
        <source>It is a &amp;new problem</source>
        <translation>Это новая &amp;проблема</translation>
    </message>
    <message>
        <source>It is a new problem</source>
        <translation>Это новая проблема</translation>
    </message>
    <message>
        <source>Make it a new report</source>
        <translation>Сделать новым обращением</translation>
    </message>
    <message>
        <source>Make it a new report instead</source>
        <translation>Всё же сделать новым обращением</translation>
    </message>
    <message>
        <source>What happened</source>
        <translation>Что случилось</translation>
    </message>
    <message>
        <source>Attachments</source>
        <translation>Вложения</translation>
    </message>
    <message>
        <source>Review</source>
        <translation>Проверка</translation>
    </message>
    <message>
        <source>Sent</source>
        <translation>Отправлено</translation>
    </message>
    <message>
        <source>Step %1 of %2: %3</source>
        <translation>Шаг %1 из %2: %3</translation>
    </message>
    <message>
        <source>Tell us what went wrong, in your own words. Only the title is required.</source>
        <translation>Расскажите своими словами, что пошло не так. Обязателен только заголовок.</translation>
    </message>
    <message>
        <source>Add anything that helps to see the problem: a screenshot, a document, a photo of an error message.</source>
        <translation>Приложите всё, что поможет увидеть проблему: снимок экрана, документ, фото сообщения об ошибке.</translation>
    </message>
    <message>
        <source>&amp;Next</source>
        <translation>&amp;Далее</translation>
    </message>
    <message>
        <source>&amp;Send report</source>
        <translation>&amp;Отправить</translation>
    </message>
    <message>
        <source>Next step</source>
        <translation>Следующий шаг</translation>
    </message>
    <message>
        <source>Send the report</source>
        <translation>Отправить обращение</translation>
    </message>
    <message>
        <source>Give the problem a short title to continue.</source>
        <translation>Чтобы продолжить, коротко озаглавьте проблему.</translation>
    </message>
    <message>
        <source>The title is too long: %1 of %2 characters. Move the rest into the description.</source>
        <translation>Заголовок слишком длинный: %1 из %2 символов. Перенесите остальное в описание.</translation>
    </message>
    <message>
        <source>The review screen is not available.</source>
        <translation>Экран проверки недоступен.</translation>
    </message>
    <message>
        <source>You reported something similar on %1: %2 (%3). It was closed recently. Add this to it instead, so the helpdesk sees the problem came back?</source>
        <translation>%1 вы уже сообщали о похожей проблеме: %2 (%3). Обращение недавно закрыто. Добавить это туда, чтобы служба поддержки увидела, что проблема вернулась?</translation>
    </message>
    <message>
        <source>The information about your computer could not be collected, so the report cannot be sent yet. Press Try again below; if it keeps failing, call your helpdesk.</source>
        <translation>Не удалось собрать сведения о компьютере, поэтому обращение пока нельзя отправить. Нажмите «Повторить» внизу; если не получится, позвоните в службу поддержки.</translation>
    </message>
    <message>
        <source>Waiting for the information about your computer...</source>
        <translation>Ждём сведения о компьютере...</translation>
    </message>
    <message>
        <source>Saving your report...</source>
        <translation>Сохраняем обращение...</translation>
    </message>
    <message>
        <source>%1 of %2 characters</source>
        <translation>%1 из %2 символов</translation>
    </message>
    <message>
        <source>Low</source>
        <translation>Низкий</translation>
    </message>
    <message>
        <source>Normal</source>
        <translation>Обычный</translation>
    </message>
    <message>
        <source>High</source>
        <translation>Высокий</translation>
    </message>
    <message>
        <source>Urgent</source>
        <translation>Срочный</translation>
    </message>
    <message>
        <source>the helpdesk handles it in turn</source>
        <translation>служба поддержки займётся им в порядке очереди</translation>
    </message>
    <message>
        <source>the helpdesk handles it in turn, usually within a working day</source>
        <translation>служба поддержки займётся им в порядке очереди, обычно в течение рабочего дня</translation>
    </message>
    <message>
        <source>the helpdesk looks at it before normal requests</source>
        <translation>служба поддержки рассмотрит его раньше обычных обращений</translation>
    </message>
    <message>
        <source>the helpdesk looks at it first</source>
        <translation>служба поддержки займётся им в первую очередь</translation>
    </message>
    <message>
        <source>%1: %2</source>
        <translation>%1: %2</translation>
    </message>
    <message>
        <source>System information collected.</source>
        <translation>Сведения о системе собраны.</translation>
    </message>
    <message>
        <source>Collecting system information... %1 of %2</source>
        <translation>Собираем сведения о системе... %1 из %2</translation>
    </message>
    <message>
        <source>Collecting system information...</source>
        <translation>Собираем сведения о системе...</translation>
    </message>
    <message>
        <source>System information</source>
        <translation>Сведения о системе</translation>
    </message>
    <message>
        <source>The system information could not be collected.</source>
        <translation>Не удалось собрать сведения о системе.</translation>
    </message>
    <message>
        <source>Press Try again to collect the system information.</source>
        <translation>Нажмите «Повторить», чтобы собрать сведения о системе.</translation>
    </message>
    <message>
        <source>You can still write your report.</source>
        <translation>Обращение можно писать дальше.</translation>
    </message>
    <message>
        <source>This will be added to your earlier report %1: %2.</source>
        <translation>Это будет добавлено к вашему прежнему обращению %1: %2.</translation>
    </message>
    <message>
        <source>You reported something similar on %1: %2 (%3). Add this to it instead?</source>
        <translation>%1 вы уже сообщали о похожей проблеме: %2 (%3). Добавить это туда, а не создавать новое обращение?</translation>
    </message>
    <message>
        <source>Add files to the report</source>
        <translation>Добавить файлы к обращению</translation>
    </message>
    <message>
        <source>The files could not be added. %1</source>
        <translation>Не удалось добавить файлы. %1</translation>
    </message>
    <message>
        <source>“%1” was not added: the file no longer exists. Check where it is and add it again.</source>
        <translation>«%1» не добавлен: такого файла больше нет. Проверьте, где он, и добавьте снова.</translation>
    </message>
    <message>
        <source>“%1” was not added: it is a folder. Add the files inside it instead.</source>
        <translation>«%1» не добавлен: это папка. Добавьте файлы из неё.</translation>
    </message>
    <message>
        <source>“%1” was not added: Deskline may not read it. Copy it somewhere you can open it, such as Documents, and add the copy.</source>
        <translation>«%1» не добавлен: у Deskline нет доступа к нему. Скопируйте его туда, где можете его открыть, например в «Документы», и добавьте копию.</translation>
    </message>
    <message>
        <source>1 attachment, %1 in total</source>
        <translation>1 вложение, всего %1</translation>
    </message>
    <message numerus="yes">
        <source>%n attachments, %1 in total</source>
        <translation>
            <numerusform>%n вложение, всего %1</numerusform>
            <numerusform>%n вложения, всего %1</numerusform>
            <numerusform>%n вложений, всего %1</numerusform>
        </translation>
    </message>
    <message>
        <source>The screenshot could not be saved. %1</source>
        <translation>Не удалось сохранить снимок экрана. %1</translation>
    </message>
    <message>
        <source>Screenshot %1</source>
        <translation>Снимок экрана %1</translation>
    </message>
</context>
<context>
    <name>WhatPage</name>
    <message>
        <source>&amp;Title:</source>
        <translation>&amp;Заголовок:</translation>
    </message>
    <message>
        <source>&amp;What happened:</source>
        <translation>&amp;Что случилось:</translation>
    </message>
    <message>
        <source>&amp;Area:</source>
        <translation>&amp;Область:</translation>
    </message>
    <message>
        <source>&amp;How much it affects you:</source>
        <translation>Насколько это &amp;мешает:</translation>
    </message>
    <message>
        <source>How &amp;urgent it is:</source>
        <translation>На&amp;сколько срочно:</translation>
    </message>
    <message>
        <source>Priority:</source>
        <translation>Приоритет:</translation>
    </message>
    <message>
        <source>When it &amp;started:</source>
        <translation>Когда &amp;началось:</translation>
    </message>
    <message>
        <source>Steps to &amp;reproduce:</source>
        <translation>&amp;Как повторить:</translation>
    </message>
    <message>
        <source>In a few words, for example: The printer does not print</source>
        <translation>Коротко, например: Принтер не печатает</translation>
    </message>
    <message>
        <source>Title</source>
        <translation>Заголовок</translation>
    </message>
    <message>
        <source>Required. A short summary of the problem.</source>
        <translation>Обязательно. Кратко о проблеме.</translation>
    </message>
    <message>
        <source>What did you try to do, what happened instead, and any message you saw.</source>
        <translation>Что вы хотели сделать, что произошло вместо этого и какое сообщение вы увидели.</translation>
    </message>
    <message>
        <source>What happened</source>
        <translation>Что случилось</translation>
    </message>
    <message>
        <source>Hardware (computer, screen, keyboard, mouse)</source>
        <translation>Оборудование (компьютер, экран, клавиатура, мышь)</translation>
    </message>
    <message>
        <source>A program or app</source>
        <translation>Программа или приложение</translation>
    </message>
    <message>
        <source>Network, Wi-Fi or VPN</source>
        <translation>Сеть, Wi-Fi или VPN</translation>
    </message>
    <message>
        <source>Printing and scanning</source>
        <translation>Печать и сканирование</translation>
    </message>
    <message>
        <source>Email and calendar</source>
        <translation>Почта и календарь</translation>
    </message>
    <message>
        <source>Access and passwords</source>
        <translation>Доступ и пароли</translation>
    </message>
    <message>
        <source>Something else</source>
        <translation>Другое</translation>
    </message>
    <message>
        <source>Not sure</source>
        <translation>Не знаю</translation>
    </message>
    <message>
        <source>Area of the problem</source>
        <translation>Область проблемы</translation>
    </message>
    <message>
        <source>A little: I can work around it</source>
        <translation>Немного: можно обойтись</translation>
    </message>
    <message>
        <source>Some of my work is blocked</source>
        <translation>Часть работы стоит</translation>
    </message>
    <message>
        <source>I cannot work at all, or many people are affected</source>
        <translation>Работать невозможно, или это затронуло многих</translation>
    </message>
    <message>
        <source>It can wait a few days</source>
        <translation>Может подождать несколько дней</translation>
    </message>
    <message>
        <source>It should be fixed today</source>
        <translation>Нужно исправить сегодня</translation>
    </message>
    <message>
        <source>I need it now (a deadline or a customer is waiting)</source>
        <translation>Нужно прямо сейчас (срок или ждёт клиент)</translation>
    </message>
    <message>
        <source>How much it affects you</source>
        <translation>Насколько это мешает</translation>
    </message>
    <message>
        <source>How urgent it is</source>
        <translation>Насколько срочно</translation>
    </message>
    <message>
        <source>Priority</source>
        <translation>Приоритет</translation>
    </message>
    <message>
        <source>Just now</source>
        <translation>Только что</translation>
    </message>
    <message>
        <source>Earlier today</source>
        <translation>Сегодня, раньше</translation>
    </message>
    <message>
        <source>Yesterday</source>
        <translation>Вчера</translation>
    </message>
    <message>
        <source>This week</source>
        <translation>На этой неделе</translation>
    </message>
    <message>
        <source>More than a week ago</source>
        <translation>Больше недели назад</translation>
    </message>
    <message>
        <source>On a date...</source>
        <translation>Указать дату...</translation>
    </message>
    <message>
        <source>When it started</source>
        <translation>Когда началось</translation>
    </message>
    <message>
        <source>The day it started</source>
        <translation>День, когда началось</translation>
    </message>
    <message>
        <source>Optional. For example:
1. Open Outlook
2. Click Send
3. An error appears</source>
        <translation>Необязательно. Например:
1. Открыть Outlook
2. Нажать «Отправить»
3. Появляется ошибка</translation>
    </message>
    <message>
        <source>Steps to reproduce (optional)</source>
        <translation>Как повторить (необязательно)</translation>
    </message>
</context>
</TS>
