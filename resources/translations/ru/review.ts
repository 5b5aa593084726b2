<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="ru">
<context>
    <name>ReviewPanel</name>
    <message>
        <source>Still collecting information about your computer. You can look through everything already; sending will be possible in a moment.</source>
        <translation>Сведения о компьютере ещё собираются. Всё остальное уже можно просмотреть; отправить отчёт можно будет через несколько секунд.</translation>
    </message>
    <message>
        <source>Collecting information about your computer</source>
        <translation>Сбор сведений о компьютере</translation>
    </message>
    <message>
        <source>&amp;What will be sent</source>
        <translation>&amp;Что будет отправлено</translation>
    </message>
    <message>
        <source>Item</source>
        <translation>Что</translation>
    </message>
    <message>
        <source>Size</source>
        <translation>Размер</translation>
    </message>
    <message>
        <source>What will be sent</source>
        <translation>Что будет отправлено</translation>
    </message>
    <message>
        <source>Press Space to tick or untick the selected item.</source>
        <translation>Нажмите пробел, чтобы отметить выбранный пункт или снять отметку.</translation>
    </message>
    <message>
        <source>&amp;Preview</source>
        <translation>&amp;Предпросмотр</translation>
    </message>
    <message>
        <source>Preview</source>
        <translation>Предпросмотр</translation>
    </message>
    <message>
        <source>Whole summary</source>
        <translation>Весь отчёт</translation>
    </message>
    <message>
        <source>Show the whole summary</source>
        <translation>Показать весь отчёт</translation>
    </message>
    <message>
        <source>Show the whole summary of the system report as the helpdesk will read it</source>
        <translation>Показать весь отчёт о системе так, как его увидит служба поддержки</translation>
    </message>
    <message>
        <source>Size of what will be sent</source>
        <translation>Размер отправляемых данных</translation>
    </message>
    <message>
        <source>&amp;Send report</source>
        <translation>&amp;Отправить отчёт</translation>
    </message>
    <message>
        <source>Send report</source>
        <translation>Отправить отчёт</translation>
    </message>
    <message>
        <source>Everything below leaves this computer with your report. Passwords and other secrets we found are hidden before sending; the preview marks them in yellow.</source>
        <translation>Всё, что перечислено ниже, будет отправлено вместе с вашим отчётом. Найденные пароли и другие секретные данные скрываются перед отправкой; в предпросмотре они выделены жёлтым.</translation>
    </message>
    <message>
        <source>The information about your computer is still being collected. Please wait a moment, then press Send again.</source>
        <translation>Сведения о компьютере ещё собираются. Подождите немного и нажмите «Отправить» ещё раз.</translation>
    </message>
    <message>
        <source>Your report needs a title. Go back, give it a short title, then send it again.</source>
        <translation>У отчёта должен быть заголовок. Вернитесь назад, дайте ему короткий заголовок и отправьте снова.</translation>
    </message>
    <message>
        <source>Saving your report…</source>
        <translation>Сохраняем ваш отчёт…</translation>
    </message>
    <message>
        <source>Your description</source>
        <translation>Ваше описание</translation>
    </message>
    <message>
        <source>Title: %1</source>
        <translation>Заголовок: %1</translation>
    </message>
    <message>
        <source>The title is always sent: it is how the helpdesk finds your report.</source>
        <translation>Заголовок отправляется всегда: по нему служба поддержки находит ваш отчёт.</translation>
    </message>
    <message>
        <source>Description: %1</source>
        <translation>Описание: %1</translation>
    </message>
    <message>
        <source>Findings</source>
        <translation>Обнаруженные проблемы</translation>
    </message>
    <message>
        <source>System report</source>
        <translation>Отчёт о системе</translation>
    </message>
    <message>
        <source>Attachments</source>
        <translation>Вложения</translation>
    </message>
    <message>
        <source>Hidden</source>
        <translation>Скрыто</translation>
    </message>
    <message>
        <source>Screenshots</source>
        <translation>Снимки экрана</translation>
    </message>
    <message>
        <source>Screenshot %1</source>
        <translation>Снимок экрана %1</translation>
    </message>
    <message>
        <source>Being collected…</source>
        <translation>Собирается…</translation>
    </message>
    <message>
        <source>cannot be read</source>
        <translation>не читается</translation>
    </message>
    <message>
        <source>This file cannot be read any more (%1), so it cannot be sent. Attach it again if you still want to send it.</source>
        <translation>Этот файл больше не удаётся прочитать (%1), поэтому его нельзя отправить. Если он всё ещё нужен, прикрепите его заново.</translation>
    </message>
    <message numerus="yes">
        <source>%n secret(s) masked</source>
        <translation>
            <numerusform>скрыт %n секрет</numerusform>
            <numerusform>скрыто %n секрета</numerusform>
            <numerusform>скрыто %n секретов</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>%n name(s) replaced</source>
        <translation>
            <numerusform>заменено %n имя</numerusform>
            <numerusform>заменено %n имени</numerusform>
            <numerusform>заменено %n имён</numerusform>
        </translation>
    </message>
    <message>
        <source>Hidden before sending; the preview marks where, in yellow.</source>
        <translation>Скрыто перед отправкой; в предпросмотре эти места выделены жёлтым.</translation>
    </message>
    <message>
        <source>Not sent: the section “%1” it comes from is unticked.</source>
        <translation>Не отправляется: снята отметка с раздела «%1», к которому это относится.</translation>
    </message>
    <message>
        <source>Never collected, as your organisation&apos;s policy or your settings say: %1.</source>
        <translation>Никогда не собирается по правилам вашей организации или по вашим настройкам: %1.</translation>
    </message>
    <message>
        <source>Measuring…</source>
        <translation>Подсчёт…</translation>
    </message>
    <message>
        <source>Size:</source>
        <translation>Размер:</translation>
    </message>
    <message>
        <source>The size could not be worked out: %1</source>
        <translation>Не удалось подсчитать размер: %1</translation>
    </message>
    <message>
        <source>Worked out when the collection is done.</source>
        <translation>Будет подсчитан, когда закончится сбор сведений.</translation>
    </message>
    <message>
        <source>%1 in all: the system report %2</source>
        <translation>Всего %1: отчёт о системе %2</translation>
    </message>
    <message numerus="yes">
        <source> and %n file(s)</source>
        <translation>
            <numerusform> и %n файл</numerusform>
            <numerusform> и %n файла</numerusform>
            <numerusform> и %n файлов</numerusform>
        </translation>
    </message>
    <message>
        <source>No size limit</source>
        <translation>Без ограничения размера</translation>
    </message>
    <message>
        <source>This helpdesk accepts files of any size.</source>
        <translation>Эта служба поддержки принимает файлы любого размера.</translation>
    </message>
    <message>
        <source>Largest file: %1 of %2</source>
        <translation>Самый большой файл: %1 из %2</translation>
    </message>
    <message>
        <source>This helpdesk accepts files up to %1 each.</source>
        <translation>Эта служба поддержки принимает файлы размером до %1 каждый.</translation>
    </message>
    <message>
        <source>This helpdesk does not accept files like “%1”. Untick it, or send it another way.</source>
        <translation>Эта служба поддержки не принимает такие файлы, как «%1». Снимите с него отметку или передайте его другим способом.</translation>
    </message>
    <message>
        <source>The system report (%1) is over the %2 this helpdesk accepts. Untick some of its largest sections.</source>
        <translation>Отчёт о системе (%1) больше, чем %2, которые принимает эта служба поддержки. Снимите отметку с самых больших его разделов.</translation>
    </message>
    <message>
        <source>“%1” (%2) is over the %3 this helpdesk accepts per file. Untick it, or attach a smaller file.</source>
        <translation>Файл «%1» (%2) больше, чем %3, которые эта служба поддержки принимает в одном файле. Снимите с него отметку или прикрепите файл поменьше.</translation>
    </message>
    <message>
        <source>If you send it anyway, it stays on this computer and the helpdesk is told it is missing.</source>
        <translation>Если всё же отправить отчёт, этот файл останется на компьютере, а служба поддержки узнает, что его не хватает.</translation>
    </message>
    <message>
        <source>The preview could not be made: %1</source>
        <translation>Не удалось подготовить предпросмотр: %1</translation>
    </message>
    <message>
        <source>Preparing the summary…</source>
        <translation>Готовим сводку…</translation>
    </message>
    <message>
        <source>Select an item to see what will be sent.</source>
        <translation>Выберите пункт, чтобы увидеть, что будет отправлено.</translation>
    </message>
    <message>
        <source>Preparing the preview…</source>
        <translation>Готовим предпросмотр…</translation>
    </message>
    <message>
        <source>This is how the helpdesk will read it.</source>
        <translation>Так это увидит служба поддержки.</translation>
    </message>
    <message>
        <source>Your description is not sent (unticked).</source>
        <translation>Ваше описание не отправляется (флажок снят).</translation>
    </message>
    <message>
        <source>low</source>
        <translation>низкое</translation>
    </message>
    <message>
        <source>medium</source>
        <translation>среднее</translation>
    </message>
    <message>
        <source>high</source>
        <translation>высокое</translation>
    </message>
    <message>
        <source>Hardware</source>
        <translation>Оборудование</translation>
    </message>
    <message>
        <source>Software</source>
        <translation>Программы</translation>
    </message>
    <message>
        <source>Network</source>
        <translation>Сеть</translation>
    </message>
    <message>
        <source>Printing</source>
        <translation>Печать</translation>
    </message>
    <message>
        <source>Email</source>
        <translation>Электронная почта</translation>
    </message>
    <message>
        <source>Access and passwords</source>
        <translation>Доступ и пароли</translation>
    </message>
    <message>
        <source>Other</source>
        <translation>Другое</translation>
    </message>
    <message>
        <source>Category</source>
        <translation>Категория</translation>
    </message>
    <message>
        <source>Impact</source>
        <translation>Влияние</translation>
    </message>
    <message>
        <source>Urgency</source>
        <translation>Срочность</translation>
    </message>
    <message>
        <source>Added to</source>
        <translation>Добавляется к</translation>
    </message>
    <message>
        <source>This file cannot be read: %1</source>
        <translation>Этот файл не удаётся прочитать: %1</translation>
    </message>
    <message>
        <source>… the preview ends here; the whole file is sent.</source>
        <translation>… предпросмотр на этом заканчивается; файл отправляется целиком.</translation>
    </message>
    <message>
        <source>This file is sent as it is (%1); it cannot be shown here.</source>
        <translation>Этот файл отправляется как есть (%1); показать его здесь нельзя.</translation>
    </message>
    <message>
        <source>Sending will be possible when the collection is done.</source>
        <translation>Отправить можно будет, когда закончится сбор сведений.</translation>
    </message>
    <message>
        <source>Save the report and send it to the helpdesk</source>
        <translation>Сохранить отчёт и отправить его в службу поддержки</translation>
    </message>
    <message>
        <source>Everything you wrote is still here.</source>
        <translation>Всё, что вы написали, сохранилось.</translation>
    </message>
    <message>
        <source>There is not enough free disk space to save your report. Free some space (for example, empty the Trash or delete large downloads), then press Send again.</source>
        <translation>На диске не хватает места, чтобы сохранить отчёт. Освободите место (например, очистите корзину или удалите большие загрузки) и нажмите «Отправить» ещё раз.</translation>
    </message>
    <message>
        <source>The title is too long for a ticket. Go back, shorten it, then send again.</source>
        <translation>Заголовок слишком длинный для заявки. Вернитесь назад, сократите его и отправьте снова.</translation>
    </message>
    <message>
        <source>A file you attached cannot be read any more. Untick it or attach it again, then press Send.</source>
        <translation>Прикреплённый файл больше не удаётся прочитать. Снимите с него отметку или прикрепите его заново, затем нажмите «Отправить».</translation>
    </message>
    <message>
        <source>This could not be added to your earlier report %1: it has not reached the helpdesk yet. Retry it in My tickets first, or send this as a new report.</source>
        <translation>Не удалось добавить это к вашему прежнему отчёту %1: он ещё не дошёл до службы поддержки. Сначала отправьте его повторно в разделе «Мои заявки» или отправьте это как новый отчёт.</translation>
    </message>
    <message>
        <source>Your report could not be saved. Please try again; if it keeps happening, restart Deskline.</source>
        <translation>Не удалось сохранить отчёт. Попробуйте ещё раз; если ошибка повторяется, перезапустите Deskline.</translation>
    </message>
</context>
<context>
    <name>SentPanel</name>
    <message>
        <source>Your report was saved</source>
        <translation>Ваш отчёт сохранён</translation>
    </message>
    <message>
        <source>Your addition was saved</source>
        <translation>Ваше дополнение сохранено</translation>
    </message>
    <message>
        <source>Deskline sends it to the helpdesk in the background, also after a restart. You can close this window and keep working.</source>
        <translation>Deskline отправит его в службу поддержки в фоновом режиме, даже после перезапуска. Можно закрыть это окно и продолжать работу.</translation>
    </message>
    <message>
        <source>&amp;Incident number:</source>
        <translation>&amp;Номер обращения:</translation>
    </message>
    <message>
        <source>Incident number</source>
        <translation>Номер обращения</translation>
    </message>
    <message>
        <source>Quote this number when you talk to the helpdesk.</source>
        <translation>Называйте этот номер, когда обращаетесь в службу поддержки.</translation>
    </message>
    <message>
        <source>&amp;Copy</source>
        <translation>&amp;Копировать</translation>
    </message>
    <message>
        <source>Copy the incident number</source>
        <translation>Копировать номер обращения</translation>
    </message>
    <message>
        <source>Saved</source>
        <translation>Сохранено</translation>
    </message>
    <message>
        <source>&amp;Retry</source>
        <translation>&amp;Повторить</translation>
    </message>
    <message>
        <source>Try sending again</source>
        <translation>Попробовать отправить ещё раз</translation>
    </message>
    <message>
        <source>Technical details</source>
        <translation>Технические подробности</translation>
    </message>
    <message>
        <source>Open &amp;My tickets</source>
        <translation>Открыть «&amp;Мои заявки»</translation>
    </message>
    <message>
        <source>Open My tickets</source>
        <translation>Открыть «Мои заявки»</translation>
    </message>
    <message>
        <source>Report &amp;another problem</source>
        <translation>Сообщить о &amp;другой проблеме</translation>
    </message>
    <message>
        <source>Report another problem</source>
        <translation>Сообщить о другой проблеме</translation>
    </message>
    <message>
        <source>Copied</source>
        <translation>Скопировано</translation>
    </message>
    <message>
        <source>Where your report is cannot be read just now</source>
        <translation>Сейчас не удаётся узнать, где ваш отчёт</translation>
    </message>
    <message>
        <source>Deskline will look again in a moment.</source>
        <translation>Deskline проверит ещё раз через несколько секунд.</translation>
    </message>
    <message>
        <source>Sending again did not start: %1</source>
        <translation>Повторная отправка не началась: %1</translation>
    </message>
    <message>
        <source>Hide details</source>
        <translation>Скрыть подробности</translation>
    </message>
    <message>
        <source>Show details</source>
        <translation>Подробности</translation>
    </message>
    <message>
        <source>in the local store on this computer</source>
        <translation>в локальном хранилище на этом компьютере</translation>
    </message>
    <message>
        <source>ticket #%1</source>
        <translation>заявка №%1</translation>
    </message>
    <message>
        <source>ticket %1</source>
        <translation>заявка %1</translation>
    </message>
    <message>
        <source>Looking where your report is…</source>
        <translation>Проверяем, где ваш отчёт…</translation>
    </message>
    <message>
        <source>Added</source>
        <translation>Добавлено</translation>
    </message>
    <message>
        <source>Your addition reached the helpdesk with %1.</source>
        <translation>Ваше дополнение к %1 получено службой поддержки.</translation>
    </message>
    <message>
        <source>Your addition is kept with %1 in the local store on this computer.</source>
        <translation>Ваше дополнение хранится вместе с %1 в локальном хранилище на этом компьютере.</translation>
    </message>
    <message>
        <source>Not added: the helpdesk did not accept it</source>
        <translation>Не добавлено: служба поддержки его не приняла</translation>
    </message>
    <message>
        <source>Your report is kept on this computer. The reason: %1. You can try again, or ask your IT support.</source>
        <translation>Ваш отчёт сохранён на этом компьютере. Причина: %1. Можно попробовать ещё раз или обратиться в ИТ-поддержку.</translation>
    </message>
    <message>
        <source>Your addition goes to the helpdesk with %1 in a moment.</source>
        <translation>Через несколько секунд ваше дополнение к %1 будет отправлено в службу поддержки.</translation>
    </message>
    <message>
        <source>Waiting: the connection to the helpdesk needs attention</source>
        <translation>Ожидает отправки: нужно проверить подключение к службе поддержки</translation>
    </message>
    <message>
        <source>Your report is safe here and goes as soon as the helpdesk settings are fixed. Your IT support can help; see Settings.</source>
        <translation>Ваш отчёт сохранён здесь и будет отправлен, как только настройки подключения будут исправлены. Помочь может ваша ИТ-поддержка; см. раздел «Настройки».</translation>
    </message>
    <message>
        <source>Waiting to be sent</source>
        <translation>Ожидает отправки</translation>
    </message>
    <message>
        <source>Your addition is kept on this computer. The reason: %1. You can try again, or ask your IT support.</source>
        <translation>Ваше дополнение сохранено на этом компьютере. Причина: %1. Можно попробовать ещё раз или обратиться в ИТ-поддержку.</translation>
    </message>
    <message>
        <source>The helpdesk could not be reached yet. Deskline will try again at %1; nothing is lost meanwhile.</source>
        <translation>Пока не удалось связаться со службой поддержки. Deskline попробует снова в %1; ничего не потеряется.</translation>
    </message>
    <message>
        <source>The helpdesk could not be reached yet. Deskline will try again in a moment; nothing is lost meanwhile.</source>
        <translation>Пока не удалось связаться со службой поддержки. Deskline скоро попробует снова; ничего не потеряется.</translation>
    </message>
    <message>
        <source>It goes to the helpdesk in a moment.</source>
        <translation>Через несколько секунд он будет отправлен в службу поддержки.</translation>
    </message>
    <message>
        <source>Sending now…</source>
        <translation>Отправляется…</translation>
    </message>
    <message>
        <source>Your report is on its way to the helpdesk.</source>
        <translation>Ваш отчёт отправляется в службу поддержки.</translation>
    </message>
    <message>
        <source>Sent</source>
        <translation>Отправлено</translation>
    </message>
    <message>
        <source>Kept in the local store</source>
        <translation>Сохранено в локальном хранилище</translation>
    </message>
    <message>
        <source>No helpdesk server is set up here, so your report is kept as a ticket in the local store on this computer. To hand it over, export it from My tickets.</source>
        <translation>Сервер службы поддержки здесь не настроен, поэтому ваш отчёт хранится как заявка в локальном хранилище на этом компьютере. Чтобы передать его, экспортируйте его в разделе «Мои заявки».</translation>
    </message>
    <message>
        <source>Your report reached the helpdesk: %1.</source>
        <translation>Ваш отчёт получен службой поддержки: %1.</translation>
    </message>
    <message>
        <source>Its files are still being sent.</source>
        <translation>Файлы к нему ещё отправляются.</translation>
    </message>
    <message numerus="yes">
        <source>%n file(s) could not be attached; the helpdesk was told, and they are kept on this computer.</source>
        <translation>
            <numerusform>Не удалось прикрепить %n файл; служба поддержки об этом знает, а файл сохранён на этом компьютере.</numerusform>
            <numerusform>Не удалось прикрепить %n файла; служба поддержки об этом знает, а файлы сохранены на этом компьютере.</numerusform>
            <numerusform>Не удалось прикрепить %n файлов; служба поддержки об этом знает, а файлы сохранены на этом компьютере.</numerusform>
        </translation>
    </message>
    <message>
        <source>Not sent: the helpdesk did not accept the report</source>
        <translation>Не отправлено: служба поддержки не приняла отчёт</translation>
    </message>
</context>
<context>
    <name>_ErrorBox</name>
    <message>
        <source>Hide details</source>
        <translation>Скрыть подробности</translation>
    </message>
    <message>
        <source>Show details</source>
        <translation>Подробности</translation>
    </message>
    <message>
        <source>Technical details</source>
        <translation>Технические подробности</translation>
    </message>
    <message>
        <source>What went wrong</source>
        <translation>Что произошло</translation>
    </message>
</context>
</TS>
