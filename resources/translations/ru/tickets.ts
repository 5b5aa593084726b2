<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="ru">
<context>
    <name>StarRating</name>
    <message>
        <source>%1 of 5 stars</source>
        <translation>%1 из 5 звёзд</translation>
    </message>
</context>
<context>
    <name>TicketsModel</name>
    <message>
        <source>Number</source>
        <translation>Номер</translation>
    </message>
    <message>
        <source>Problem</source>
        <translation>Проблема</translation>
    </message>
    <message>
        <source>Status</source>
        <translation>Состояние</translation>
    </message>
    <message>
        <source>Ticket</source>
        <translation>Заявка</translation>
    </message>
    <message>
        <source>Last update</source>
        <translation>Обновлено</translation>
    </message>
    <message>
        <source>Waiting to be sent</source>
        <translation>Ждёт отправки</translation>
    </message>
    <message>
        <source>Sending…</source>
        <translation>Отправляется…</translation>
    </message>
    <message>
        <source>Not sent</source>
        <translation>Не отправлено</translation>
    </message>
    <message>
        <source>Sent</source>
        <translation>Отправлено</translation>
    </message>
    <message>
        <source>On this computer</source>
        <translation>На этом компьютере</translation>
    </message>
    <message numerus="yes">
        <source>%1  •  %n new</source>
        <translation>
            <numerusform>%1  •  %n новый</numerusform>
            <numerusform>%1  •  %n новых</numerusform>
            <numerusform>%1  •  %n новых</numerusform>
        </translation>
    </message>
</context>
<context>
    <name>TicketsPage</name>
    <message>
        <source>My tickets</source>
        <translation>Мои заявки</translation>
    </message>
    <message>
        <source>Open tickets</source>
        <translation>Открытые заявки</translation>
    </message>
    <message>
        <source>All tickets</source>
        <translation>Все заявки</translation>
    </message>
    <message>
        <source>Which tickets to show</source>
        <translation>Какие заявки показывать</translation>
    </message>
    <message>
        <source>&amp;Refresh</source>
        <translation>О&amp;бновить</translation>
    </message>
    <message>
        <source>Check the tickets for news now</source>
        <translation>Проверить заявки на новости сейчас</translation>
    </message>
    <message>
        <source>Ask the helpdesk for news now (F5)</source>
        <translation>Узнать новости у службы поддержки сейчас (F5)</translation>
    </message>
    <message>
        <source>Your reports</source>
        <translation>Ваши обращения</translation>
    </message>
    <message>
        <source>Report a problem</source>
        <translation>Сообщить о проблеме</translation>
    </message>
    <message>
        <source>Choose a report above to see its conversation.</source>
        <translation>Выберите обращение в списке выше, чтобы увидеть переписку.</translation>
    </message>
    <message>
        <source>Send this report again now</source>
        <translation>Отправить это обращение ещё раз</translation>
    </message>
    <message>
        <source>Re&amp;open</source>
        <translation>Открыть &amp;снова</translation>
    </message>
    <message>
        <source>Reopen this ticket</source>
        <translation>Открыть эту заявку снова</translation>
    </message>
    <message>
        <source>The problem is back or was not solved: ask the helpdesk to look again (your comment, if you wrote one, goes with it)</source>
        <translation>Проблема вернулась или не решена: попросите службу поддержки посмотреть ещё раз (ваш комментарий, если вы его написали, будет отправлен вместе с просьбой)</translation>
    </message>
    <message>
        <source>&amp;Close ticket</source>
        <translation>&amp;Закрыть заявку</translation>
    </message>
    <message>
        <source>Close this ticket</source>
        <translation>Закрыть эту заявку</translation>
    </message>
    <message>
        <source>Your problem is solved: tell the helpdesk it can close the ticket</source>
        <translation>Проблема решена: сообщите службе поддержки, что заявку можно закрыть</translation>
    </message>
    <message>
        <source>&amp;Export…</source>
        <translation>&amp;Экспорт…</translation>
    </message>
    <message>
        <source>Export the report as a file</source>
        <translation>Сохранить обращение в файл</translation>
    </message>
    <message>
        <source>Save the whole report with its files as one zip file, to hand over by other means</source>
        <translation>Сохранить всё обращение с файлами в один zip-файл, чтобы передать его другим способом</translation>
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
        <source>Dismiss</source>
        <translation>Скрыть</translation>
    </message>
    <message>
        <source>Dismiss this message</source>
        <translation>Скрыть это сообщение</translation>
    </message>
    <message>
        <source>Conversation</source>
        <translation>Переписка</translation>
    </message>
    <message>
        <source>Resolved: how did we do?</source>
        <translation>Заявка решена: как мы справились?</translation>
    </message>
    <message>
        <source>Remark about the help</source>
        <translation>Комментарий к оценке помощи</translation>
    </message>
    <message>
        <source>What was good, what could be better</source>
        <translation>Что было хорошо, что можно улучшить</translation>
    </message>
    <message>
        <source>Send the rating</source>
        <translation>Отправить оценку</translation>
    </message>
    <message>
        <source>Add a comment</source>
        <translation>Добавить комментарий</translation>
    </message>
    <message>
        <source>Your comment</source>
        <translation>Ваш комментарий</translation>
    </message>
    <message>
        <source>For example: it happened again this morning</source>
        <translation>Например: сегодня утром это повторилось</translation>
    </message>
    <message>
        <source>Files to attach (Delete removes the chosen one)</source>
        <translation>Файлы для отправки (Delete убирает выбранный)</translation>
    </message>
    <message>
        <source>A&amp;ttach files…</source>
        <translation>Прил&amp;ожить файлы…</translation>
    </message>
    <message>
        <source>Attach files to the comment</source>
        <translation>Приложить файлы к комментарию</translation>
    </message>
    <message>
        <source>&amp;Send comment</source>
        <translation>Отп&amp;равить</translation>
    </message>
    <message>
        <source>Send the comment</source>
        <translation>Отправить комментарий</translation>
    </message>
    <message>
        <source>Send the comment (Ctrl+Enter)</source>
        <translation>Отправить комментарий (Ctrl+Enter)</translation>
    </message>
    <message>
        <source>Checked at %1</source>
        <translation>Проверено в %1</translation>
    </message>
    <message>
        <source>You have not reported any problems yet. When you do, you can follow them here.</source>
        <translation>Вы ещё не сообщали о проблемах. Когда сообщите, здесь можно будет следить за ответами.</translation>
    </message>
    <message>
        <source>No open tickets. Choose “All tickets” to see the closed ones.</source>
        <translation>Открытых заявок нет. Выберите «Все заявки», чтобы увидеть закрытые.</translation>
    </message>
    <message>
        <source>Your reports cannot be read right now. Please try again in a moment.</source>
        <translation>Сейчас не удаётся прочитать ваши обращения. Попробуйте ещё раз чуть позже.</translation>
    </message>
    <message>
        <source>S&amp;how:</source>
        <translation>&amp;Показать:</translation>
    </message>
    <message>
        <source>A re&amp;mark (optional):</source>
        <translation>&amp;Комментарий к оценке (необязательно):</translation>
    </message>
    <message>
        <source>Send r&amp;ating</source>
        <translation>Отправить о&amp;ценку</translation>
    </message>
    <message>
        <source>This helpdesk keeps no ratings: yours goes to the ticket as a comment.</source>
        <translation>Эта служба поддержки не хранит оценки: ваша оценка уйдёт в заявку комментарием.</translation>
    </message>
    <message>
        <source>Anything new? &amp;Write it here; you can attach files too.</source>
        <translation>Есть новости? &amp;Напишите здесь; можно приложить и файлы.</translation>
    </message>
    <message>
        <source>Retr&amp;y</source>
        <translation>По&amp;вторить</translation>
    </message>
    <message>
        <source>Try &amp;now</source>
        <translation>Отправить с&amp;ейчас</translation>
    </message>
    <message>
        <source>You rated the help %1 of 5. Thank you!</source>
        <translation>Вы оценили помощь на %1 из 5. Спасибо!</translation>
    </message>
    <message>
        <source>%1 was not sent: %2</source>
        <translation>%1 не отправлено: %2</translation>
    </message>
    <message>
        <source>%1 is waiting to be sent: %2. It goes by itself once the connection is back.</source>
        <translation>%1 ждёт отправки: %2. Обращение уйдёт само, когда связь восстановится.</translation>
    </message>
    <message>
        <source>%1 is being sent now.</source>
        <translation>%1 отправляется.</translation>
    </message>
    <message>
        <source>%1 is saved and waiting to be sent.</source>
        <translation>%1 сохранено и ждёт отправки.</translation>
    </message>
    <message>
        <source>Sent</source>
        <translation>Отправлено</translation>
    </message>
    <message>
        <source>%1 is saved on this computer (there is no helpdesk connection). Status: %2.</source>
        <translation>%1 сохранено на этом компьютере (подключения к службе поддержки нет). Состояние: %2.</translation>
    </message>
    <message>
        <source>%1 was sent as ticket %2. Status: %3.</source>
        <translation>%1 отправлено, заявка %2. Состояние: %3.</translation>
    </message>
    <message>
        <source>You reported</source>
        <translation>Вы сообщили</translation>
    </message>
    <message>
        <source>New</source>
        <translation>Новый</translation>
    </message>
    <message>
        <source>Helpdesk</source>
        <translation>Служба поддержки</translation>
    </message>
    <message>
        <source>Your rating</source>
        <translation>Ваша оценка</translation>
    </message>
    <message>
        <source>not attached: %1</source>
        <translation>не приложен: %1</translation>
    </message>
    <message>
        <source>waiting to be sent</source>
        <translation>ждёт отправки</translation>
    </message>
    <message>
        <source>Delivered</source>
        <translation>Доставлено</translation>
    </message>
    <message>
        <source>Not delivered: %1</source>
        <translation>Не доставлено: %1</translation>
    </message>
    <message>
        <source>Waiting to be sent</source>
        <translation>Ждёт отправки</translation>
    </message>
    <message>
        <source>Attach files</source>
        <translation>Приложить файлы</translation>
    </message>
    <message>
        <source>Checking…</source>
        <translation>Проверяем…</translation>
    </message>
    <message>
        <source>Your comment is saved and goes to the helpdesk now.</source>
        <translation>Комментарий сохранён и отправляется в службу поддержки.</translation>
    </message>
    <message>
        <source>Your comment could not be saved. Check that the files can be opened and try again.</source>
        <translation>Не удалось сохранить комментарий. Проверьте, что файлы открываются, и попробуйте ещё раз.</translation>
    </message>
    <message>
        <source>Thank you! Your rating goes to the helpdesk now.</source>
        <translation>Спасибо! Ваша оценка отправляется в службу поддержки.</translation>
    </message>
    <message>
        <source>Your rating could not be saved. Please try again.</source>
        <translation>Не удалось сохранить оценку. Попробуйте ещё раз.</translation>
    </message>
    <message>
        <source>The report is sent again now.</source>
        <translation>Обращение отправляется ещё раз.</translation>
    </message>
    <message>
        <source>The report could not be queued again. Please try again in a moment.</source>
        <translation>Не удалось поставить обращение в очередь. Попробуйте ещё раз чуть позже.</translation>
    </message>
    <message>
        <source>Please reopen this ticket: the problem is not solved.</source>
        <translation>Пожалуйста, откройте заявку снова: проблема не решена.</translation>
    </message>
    <message>
        <source>The helpdesk is asked to look at it again.</source>
        <translation>Мы попросили службу поддержки посмотреть ещё раз.</translation>
    </message>
    <message>
        <source>The ticket could not be reopened. Please try again in a moment.</source>
        <translation>Не удалось снова открыть заявку. Попробуйте ещё раз чуть позже.</translation>
    </message>
    <message>
        <source>Close the ticket?</source>
        <translation>Закрыть заявку?</translation>
    </message>
    <message>
        <source>Close %1 “%2”? Do this when your problem is solved. You can reopen it later.</source>
        <translation>Закрыть %1 «%2»? Сделайте это, когда проблема решена. Позже заявку можно открыть снова.</translation>
    </message>
    <message>
        <source>My problem is solved; please close this ticket. Thank you!</source>
        <translation>Моя проблема решена, заявку можно закрыть. Спасибо!</translation>
    </message>
    <message>
        <source>The ticket is closed.</source>
        <translation>Заявка закрыта.</translation>
    </message>
    <message>
        <source>The ticket could not be closed. Please try again in a moment.</source>
        <translation>Не удалось закрыть заявку. Попробуйте ещё раз чуть позже.</translation>
    </message>
    <message>
        <source>Export the report</source>
        <translation>Сохранить обращение в файл</translation>
    </message>
    <message>
        <source>Zip files (*.zip)</source>
        <translation>Zip-архивы (*.zip)</translation>
    </message>
    <message>
        <source>The report is saved as %1.</source>
        <translation>Обращение сохранено в файл %1.</translation>
    </message>
    <message>
        <source>The report could not be saved there. Choose another folder and try again.</source>
        <translation>Не удалось сохранить обращение сюда. Выберите другую папку и попробуйте ещё раз.</translation>
    </message>
</context>
</TS>
